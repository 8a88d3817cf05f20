import { describe, expect, it } from 'vitest'
import { RecentTime } from '../../src/auth/recent-time.js'
import { SimulatedClock } from '../support/simulated-clock.js'

describe('RecentTime', () => {
  it('is stale (+Infinity) before the first reading, so nothing counts as fresh against it', () => {
    const recent = new RecentTime(new SimulatedClock(1_000), 250)
    expect(recent.value).toBe(Number.POSITIVE_INFINITY)
  })

  it('keeps a reading for trustMs of timer time, then marks it stale until the clock is read again', async () => {
    const clock = new SimulatedClock(1_000)
    const recent = new RecentTime(clock, 250)
    expect(recent.read()).toBe(1_000)
    expect(recent.value).toBe(1_000)

    await clock.advanceTo(1_249)
    expect(recent.value).toBe(1_000)
    await clock.advanceTo(1_250)
    expect(recent.value).toBe(Number.POSITIVE_INFINITY)

    expect(recent.read()).toBe(1_250)
    expect(recent.value).toBe(1_250)
  })

  it('never trusts any reading longer than trustMs: a later reading expires with the timer of the first', async () => {
    const clock = new SimulatedClock(0)
    const recent = new RecentTime(clock, 250)
    recent.read()
    await clock.advanceTo(200)
    expect(recent.read()).toBe(200)
    expect(clock.pendingTimers).toBe(1)
    await clock.advanceTo(250)
    expect(recent.value).toBe(Number.POSITIVE_INFINITY)
    expect(clock.pendingTimers).toBe(0)
  })

  it('sets a new timer when the one it set was lost, and the lost one ends nothing if it ever fires', async () => {
    const clock = new SimulatedClock(0)
    const recent = new RecentTime(clock, 250)
    let lost: (() => void) | undefined
    const setTimeout = clock.setTimeout.bind(clock)
    clock.setTimeout = (fn, ms) => ((lost ??= fn), 0)
    recent.read()
    clock.setTimeout = setTimeout
    await clock.advanceTo(1_000)
    expect(recent.value).toBe(0)

    expect(recent.read()).toBe(1_000)
    lost!()
    expect(recent.value).toBe(1_000)
    await clock.advanceTo(1_250)
    expect(recent.value).toBe(Number.POSITIVE_INFINITY)
  })
})
