import { describe, expect, it } from 'vitest'
import { sleepUntil, systemClock } from '../src/clock.js'
import { AbortError, ErrorCodes } from '../src/errors.js'
import { SimulatedClock } from './support/simulated-clock.js'

describe('sleepUntil', () => {
  it('resolves with the time once the clock reaches the absolute deadline, not before', async () => {
    const clock = new SimulatedClock(1_000)
    let woke: number | undefined
    void sleepUntil(clock, 5_000, undefined).then((at) => (woke = at))
    await clock.advanceTo(4_999)
    expect(woke).toBeUndefined()
    await clock.advanceTo(5_000)
    expect(woke).toBe(5_000)
  })

  it('resolves at once (on a later turn) for a time already past', async () => {
    const clock = new SimulatedClock(10_000)
    let woke: number | undefined
    const sleeping = sleepUntil(clock, 1, undefined).then((at) => (woke = at))
    expect(woke).toBeUndefined()
    await clock.settle()
    await sleeping
    expect(woke).toBe(10_000)
  })

  it('chains timers for waits beyond the 24.8-day limit of Node timers', async () => {
    const clock = new SimulatedClock(0)
    const target = 60 * 86_400_000
    let woke: number | undefined
    void sleepUntil(clock, target).then((at) => (woke = at))
    await clock.settle()
    expect(clock.nextTimerAt).toBe(2 ** 31 - 1)
    await clock.advanceTo(target)
    expect(woke).toBe(target)
  })

  it('rejects with AbortError and clears its timer when aborted', async () => {
    const clock = new SimulatedClock(0)
    const controller = new AbortController()
    const sleeping = sleepUntil(clock, 1_000, controller.signal)
    controller.abort()
    const error = await sleeping.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect(error).toMatchObject({ code: ErrorCodes.ABORTED, message: 'the wait was aborted' })
    expect(clock.pendingTimers).toBe(0)
    await expect(sleepUntil(clock, 1_000, controller.signal)).rejects.toBeInstanceOf(AbortError)
  })

  it('refuses a deadline that is not a number with a TypeError naming it', () => {
    expect(() => sleepUntil(systemClock, Number.NaN)).toThrow(new TypeError('until must be a number (epoch milliseconds)'))
  })

  it('works on the system clock', async () => {
    const start = systemClock.now()
    const at = await sleepUntil(systemClock, start + 5)
    expect(at).toBeGreaterThanOrEqual(start + 5)
  })
})
