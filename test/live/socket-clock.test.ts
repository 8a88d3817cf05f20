import { describe, expect, it } from 'vitest'
import { LiveSocket } from '../../src/live/socket.js'
import { backoffCeilingMs, DEFAULT_LIVE_SOCKET_SETTINGS } from '../../machines/socket.js'
import { SimulatedClock } from '../support/simulated-clock.js'
import { eventually, record } from './support.js'
import { startWsServer } from './ws-server.js'

const tokenProvider = async () => 'token-1'

describe('LiveSocket on a simulated clock, with real sockets', () => {
  it('with the default heartbeat, pings every 25 s and terminates after two missed pongs, then reconnects', async () => {
    const server = await startWsServer((upgrade) => void upgrade.accept(), { autoPong: false })
    const clock = new SimulatedClock()
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { clock, tokenCheckIntervalMs: false, jitterSeed: 1 })
    const seen = record(socket)
    try {
      await eventually(() => socket.state === 'open', 'the connection')
      const openedAt = clock.now()
      await clock.advanceBy(25_000)
      await eventually(() => server.pings === 1, 'the first ping')
      await clock.advanceBy(25_000)
      await eventually(() => server.pings === 2, 'the second ping')
      await clock.advanceBy(24_999)
      expect(socket.state).toBe('open')
      await clock.advanceBy(1)
      await eventually(() => seen.of('disconnected').length === 1, 'the dead connection to be terminated')
      const [dead] = seen.of('disconnected')
      expect(dead!.failure).toEqual({ kind: 'dropped', message: '2 pings went unanswered: the connection is dead', at: openedAt + 75_000 })
      expect(dead!.retryAt! - dead!.failure.at!).toBeLessThan(DEFAULT_LIVE_SOCKET_SETTINGS.backoffBaseMs)
      await clock.advanceTo(dead!.retryAt!)
      await eventually(() => seen.of('open').length === 2, 'the new connection')
      expect(server.accepted).toHaveLength(2)
    } finally {
      await socket.close()
      await server.close()
    }
  })

  it('reconnects forever while nothing listens, each delay drawn below a doubling ceiling capped at 30 s; close() ends it', async () => {
    const gone = await startWsServer(() => {})
    await gone.close()
    const clock = new SimulatedClock()
    const socket = new LiveSocket({ url: gone.url, tokenProvider }, { clock, tokenCheckIntervalMs: false, jitterSeed: 42 })
    const seen = record(socket)
    const delays: number[] = []
    for (let attempt = 1; attempt <= 12; attempt++) {
      await eventually(() => seen.of('disconnected').length === attempt, `failed attempt ${attempt}`)
      const event = seen.of('disconnected')[attempt - 1]!
      expect(event.failure.kind).toBe('dropped')
      const delay = event.retryAt! - event.failure.at!
      expect(delay).toBeGreaterThanOrEqual(0)
      expect(delay).toBeLessThan(backoffCeilingMs(attempt, DEFAULT_LIVE_SOCKET_SETTINGS))
      delays.push(delay)
      expect(socket.state).toBe('backingOff')
      await clock.advanceTo(event.retryAt!)
    }
    expect(backoffCeilingMs(12, DEFAULT_LIVE_SOCKET_SETTINGS)).toBe(30_000)
    // Full jitter: the delays are spread, not one fixed schedule.
    expect(new Set(delays).size).toBeGreaterThan(6)
    await eventually(() => seen.of('disconnected').length === 13, 'the 13th attempt')
    await socket.close()
    expect(await socket.closed).toMatchObject({ reason: 'closed' })
    expect(clock.pendingTimers).toBe(0)
  })
})
