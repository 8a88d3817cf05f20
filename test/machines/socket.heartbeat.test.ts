import { describe, expect, it } from 'vitest'
import { giveToken, startSocket, T0, toOpen, type SocketHarness } from './socket.harness.js'

const pong = async (h: SocketHarness) => {
  h.actor.send({ type: 'PONG', connectionId: h.context().connectionId, at: h.clock.now() })
  await h.clock.settle()
}

describe('LiveSocket statechart: heartbeat', () => {
  it('pings every 25 s by default while pongs come back, and never terminates a live connection', async () => {
    const h = startSocket()
    await toOpen(h)
    await h.clock.advanceTo(T0 + 24_999)
    expect(h.emittedOf('sendPing')).toEqual([])
    for (let i = 1; i <= 6; i++) {
      await h.clock.advanceTo(T0 + i * 25_000)
      expect(h.emittedOf('sendPing')).toHaveLength(i)
      await h.clock.advanceBy(40)
      await pong(h)
    }
    expect(h.emittedOf('sendPing').every((e) => e.connectionId === 1)).toBe(true)
    expect(h.emittedOf('terminate')).toEqual([])
    expect(h.status()).toBe('open')
  })

  it('terminates the connection after two missed pongs, then reconnects after a backoff', async () => {
    const h = startSocket()
    await toOpen(h)
    await h.clock.advanceTo(T0 + 50_000)
    expect(h.emittedOf('sendPing')).toHaveLength(2)
    expect(h.context().awaitingPongs).toBe(2)
    await h.clock.advanceTo(T0 + 74_999)
    expect(h.status()).toBe('open')

    await h.clock.advanceTo(T0 + 75_000)
    const failure = { kind: 'dropped', message: '2 pings went unanswered: the connection is dead', at: T0 + 75_000 }
    expect(h.emittedOf('terminate')).toEqual([{ type: 'terminate', connectionId: 1, failure }])
    expect(h.emittedOf('sendPing')).toHaveLength(2)
    expect(h.status()).toBe('backingOff')
    expect(h.context().lastFailure).toEqual(failure)

    await h.clock.advanceTo(h.context().retryAt!)
    await giveToken(h, 'tok-2')
    expect(h.effects.open('connect').input).toEqual({ token: 'tok-2', connectionId: 2 })
  })

  it('one missed pong followed by a pong starts the count over', async () => {
    const h = startSocket()
    await toOpen(h)
    await h.clock.advanceTo(T0 + 50_000)
    await pong(h)
    await h.clock.advanceTo(T0 + 75_000)
    await h.clock.advanceTo(T0 + 99_999)
    expect(h.emittedOf('sendPing')).toHaveLength(3)
    expect(h.emittedOf('terminate')).toEqual([])
    await h.clock.advanceTo(T0 + 125_000)
    expect(h.emittedOf('terminate')).toHaveLength(1)
  })

  it('honours pingIntervalMs and maxMissedPongs from the settings', async () => {
    const h = startSocket({ input: { settings: { pingIntervalMs: 1_000, maxMissedPongs: 3 }, jitterSeed: 1 } })
    await toOpen(h)
    await h.clock.advanceTo(T0 + 3_999)
    expect(h.emittedOf('sendPing')).toHaveLength(3)
    expect(h.status()).toBe('open')
    await h.clock.advanceTo(T0 + 4_000)
    expect(h.emittedOf('terminate')).toHaveLength(1)
    expect(h.context().lastFailure?.message).toBe('3 pings went unanswered: the connection is dead')
  })

  it('keeps pinging during an in-band re-authentication', async () => {
    const h = startSocket()
    await toOpen(h)
    await h.clock.advanceTo(T0 + 20_000)
    h.actor.send({ type: 'TOKEN_ROTATED' })
    await h.clock.settle()
    await giveToken(h, 'tok-2')
    await h.clock.advanceTo(T0 + 25_000)
    expect(h.status()).toBe('reauthenticating')
    expect(h.emittedOf('sendPing')).toEqual([{ type: 'sendPing', connectionId: 1 }])
  })

  it('a new connection starts its own heartbeat from when it opened', async () => {
    const h = startSocket()
    await toOpen(h)
    await h.clock.advanceTo(T0 + 75_000)
    const retryAt = h.context().retryAt!
    await h.clock.advanceTo(retryAt)
    await giveToken(h)
    h.effects.open('connect').resolve({ at: h.clock.now() })
    await h.clock.settle()
    expect(h.context()).toMatchObject({ connectionId: 2, openedAt: retryAt, nextPingAt: retryAt + 25_000, awaitingPongs: 0 })
  })
})
