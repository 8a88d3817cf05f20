import { Subject } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { watchTokens } from '../../src/live/token-watch.js'
import { TokenGate } from '../../src/token-source.js'
import { SimulatedClock } from '../support/simulated-clock.js'

function setup(options: { changes?: Subject<unknown>; pollEveryMs?: number | null; token?: () => string } = {}) {
  const clock = new SimulatedClock()
  const state = { held: null as string | null, open: true, rotations: 0, asked: 0 }
  const gate = new TokenGate(async () => {
    state.asked++
    return options.token?.() ?? 'access-1'
  })
  const watch = watchTokens({
    changes: options.changes ?? null,
    pollEveryMs: options.pollEveryMs ?? null,
    gate,
    clock,
    held: () => state.held,
    wanted: () => state.open,
    rotated: () => state.rotations++,
  })
  return { clock, state, watch }
}

describe('token rotation watch', () => {
  it('announces a rotation when the stream names a token other than the one held', () => {
    const changes = new Subject<unknown>()
    const { state } = setup({ changes })
    state.held = 'access-1'
    changes.next({ accessToken: 'access-1' })
    expect(state.rotations).toBe(0)
    changes.next({ accessToken: 'access-2' })
    expect(state.rotations).toBe(1)
    changes.next('access-3')
    expect(state.rotations).toBe(2)
  })

  it('ignores a signed-out null, and counts a notification that names no token as a rotation', () => {
    const changes = new Subject<unknown>()
    const { state } = setup({ changes })
    state.held = 'access-1'
    changes.next(null)
    expect(state.rotations).toBe(0)
    changes.next({ refreshed: true })
    expect(state.rotations).toBe(1)
  })

  it('before a token is held, compares when the socket takes one, so a rotation meanwhile is not missed', () => {
    const changes = new Subject<unknown>()
    const { state, watch } = setup({ changes })
    changes.next({ accessToken: 'access-2' })
    expect(state.rotations).toBe(0)
    state.held = 'access-1'
    watch.took('access-1')
    expect(state.rotations).toBe(1)
    state.held = 'access-2'
    watch.took('access-2')
    expect(state.rotations).toBe(1)
  })

  it('without a stream, asks the provider every interval while a connection is open', async () => {
    let current = 'access-1'
    const { clock, state, watch } = setup({ pollEveryMs: 15_000, token: () => current })
    state.held = 'access-1'
    await clock.advanceBy(15_000)
    expect([state.asked, state.rotations]).toEqual([1, 0])
    current = 'access-2'
    state.open = false
    await clock.advanceBy(15_000)
    expect([state.asked, state.rotations]).toEqual([1, 0])
    state.open = true
    await clock.advanceBy(15_000)
    expect([state.asked, state.rotations]).toEqual([2, 1])
    watch.stop()
    await clock.advanceBy(60_000)
    expect(state.asked).toBe(2)
    expect(clock.pendingTimers).toBe(0)
  })

  it('stop() unsubscribes from the stream', () => {
    const changes = new Subject<unknown>()
    const { state, watch } = setup({ changes })
    state.held = 'access-1'
    watch.stop()
    expect(changes.observed).toBe(false)
    changes.next('access-2')
    expect(state.rotations).toBe(0)
  })
})
