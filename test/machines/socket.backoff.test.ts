import { describe, expect, it } from 'vitest'
import { acceptConnection, failConnection, giveToken, serverCloses, startSocket, T0, toOpen, type SocketHarness } from './socket.harness.js'

/** Lets one connection attempt fail on the network and returns the drawn delay. */
async function failOnce(h: SocketHarness): Promise<number> {
  await giveToken(h)
  await failConnection(h)
  const { retryAt, lastFailure } = h.context()
  const delay = retryAt! - lastFailure!.at!
  await h.clock.advanceTo(retryAt!)
  return delay
}

describe('LiveSocket statechart: reconnect backoff', () => {
  it('grows the delay ceiling from backoffBaseMs by doubling per failure in a row, capped at 30 s, with every delay inside its ceiling', async () => {
    const h = startSocket({ input: { jitterSeed: 11 } })
    await h.clock.settle()
    const delays: number[] = []
    for (let i = 0; i < 40; i++) delays.push(await failOnce(h))

    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(0)
      expect(delay).toBeLessThan(Math.min(30_000, 1_000 * 2 ** i))
    })
    // The ceiling really grows: later delays go far past what the first ceilings allow...
    expect(Math.max(...delays.slice(5))).toBeGreaterThan(16_000)
    // ...and past the cap the spread covers the whole capped window.
    expect(Math.max(...delays.slice(10))).toBeGreaterThan(25_000)
    expect(Math.min(...delays.slice(10))).toBeLessThan(10_000)
    expect(h.context().attempts).toBe(40)
    expect(h.status()).toBe('connecting')
  })

  it('takes backoffBaseMs and backoffMaxMs from the settings', async () => {
    const h = startSocket({ input: { settings: { backoffBaseMs: 100, backoffMaxMs: 400 }, jitterSeed: 5 } })
    await h.clock.settle()
    const delays: number[] = []
    for (let i = 0; i < 30; i++) delays.push(await failOnce(h))
    expect(delays[0]).toBeLessThan(100)
    expect(delays[1]).toBeLessThan(200)
    expect(Math.max(...delays)).toBeLessThan(400)
    expect(Math.max(...delays.slice(2))).toBeGreaterThanOrEqual(300)
  })

  it('spreads the first reconnect of a fleet dropped together over the whole window (full jitter)', async () => {
    const delays: number[] = []
    for (let seed = 1; seed <= 40; seed++) {
      const h = startSocket({ input: { jitterSeed: seed * 7919 } })
      await toOpen(h)
      await h.clock.advanceBy(20_000)
      await serverCloses(h, 1012)
      delays.push(h.context().retryAt! - h.clock.now())
      h.actor.stop()
    }
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...delays)).toBeLessThan(1_000)
    expect(Math.min(...delays)).toBeLessThan(200)
    expect(Math.max(...delays)).toBeGreaterThan(800)
    expect(new Set(delays).size).toBeGreaterThan(30)
  })

  it('the same seed draws the same delays, so the backoff is data and replayable', async () => {
    const run = async () => {
      const h = startSocket({ input: { jitterSeed: 99 } })
      await h.clock.settle()
      const delays = []
      for (let i = 0; i < 6; i++) delays.push(await failOnce(h))
      return delays
    }
    expect(await run()).toEqual(await run())
  })

  it('a connection that stayed open for stableAfterMs starts the backoff over', async () => {
    const h = startSocket({ input: { jitterSeed: 11 } })
    await h.clock.settle()
    for (let i = 0; i < 6; i++) await failOnce(h)
    expect(h.context().attempts).toBe(6)
    await giveToken(h)
    await acceptConnection(h)
    await h.clock.advanceBy(10_000)
    await serverCloses(h, 1006)
    expect(h.context().attempts).toBe(1)
    expect(h.context().retryAt! - h.clock.now()).toBeLessThan(1_000)
  })

  it('a connection that drops before stableAfterMs keeps growing the backoff, so accept-then-drop is not hammered', async () => {
    const h = startSocket({ input: { jitterSeed: 11 } })
    await h.clock.settle()
    for (let i = 0; i < 6; i++) await failOnce(h)
    await giveToken(h)
    await acceptConnection(h)
    await h.clock.advanceBy(9_999)
    await serverCloses(h, 1006)
    expect(h.context().attempts).toBe(7)
  })

  it('an accepted in-band re-authentication ends a streak of token refusals, so the next 4401 reconnects at once', async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h)
    await failConnection(h, { message: 'Unexpected server response: 401', status: 401 })
    await giveToken(h, 'tok-2')
    await acceptConnection(h)
    expect(h.context().unauthorizedStreak).toBe(1)
    h.actor.send({ type: 'TOKEN_ROTATED' })
    await h.clock.settle()
    await giveToken(h, 'tok-3')
    h.effects.open('reauthenticate').resolve({ exp: null, at: h.clock.now() })
    await h.clock.settle()
    expect(h.context().unauthorizedStreak).toBe(0)

    await serverCloses(h, 4401)
    expect(h.status()).toBe('connecting')
    expect(h.effects.open('getToken').input).toEqual({ reason: 'unauthorized' })
  })

  it('a 4401 right after a 401-refreshed connection opened backs off instead of refreshing in a loop', async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h)
    await failConnection(h, { message: 'Unexpected server response: 401', status: 401 })
    await giveToken(h, 'tok-2')
    await acceptConnection(h)
    await serverCloses(h, 4401)
    expect(h.status()).toBe('backingOff')
    expect(h.context().tokenReason).toBe('unauthorized')
  })

  it('waits on an absolute time in context, and CLOSE while backing off cancels the wait and never reconnects', async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h)
    await failConnection(h)
    const wait = h.effects.sleeps.at(-1)!
    expect(wait.until).toBe(h.context().retryAt)

    h.actor.send({ type: 'CLOSE', at: T0 + 1 })
    await h.clock.settle()
    expect(wait.signal.aborted).toBe(true)
    expect(h.status()).toBe('closed')
    expect(h.actor.getSnapshot().output).toEqual({ reason: 'closed', at: T0 + 1, failure: null })
    expect(h.context().retryAt).toBeNull()
    expect(h.clock.pendingTimers).toBe(0)
    await h.clock.advanceBy(600_000)
    expect(h.effects.count('getToken')).toBe(1)
  })

  it('the whole context stays JSON data across failures and reconnects', async () => {
    const h = startSocket()
    await toOpen(h)
    await serverCloses(h, 1011, 'internal error')
    const context = h.context()
    expect(JSON.parse(JSON.stringify(context))).toEqual(context)
    expect(context.lastFailure).toEqual({ kind: 'dropped', message: 'the connection closed with code 1011: internal error', at: T0, closeCode: 1011 })
  })
})
