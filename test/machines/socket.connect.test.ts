import { describe, expect, it } from 'vitest'
import { acceptConnection, failConnection, giveToken, startSocket, T0, toOpen } from './socket.harness.js'

describe('LiveSocket statechart: connecting', () => {
  it('stays idle until CONNECT, then asks for the current token', async () => {
    const h = startSocket({ connect: false })
    await h.clock.settle()
    expect(h.status()).toBe('idle')
    expect(h.effects.log).toEqual([])

    h.actor.send({ type: 'CONNECT', at: T0 })
    await h.clock.settle()
    expect(h.status()).toBe('connecting')
    expect(h.effects.open('getToken').input).toEqual({ reason: 'initial' })
  })

  it('opens connection number 1 with the token it was given and sends nothing while the handshake runs', async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h, 'tok-abc')
    expect(h.effects.open('connect').input).toEqual({ token: 'tok-abc', connectionId: 1 })
    expect(h.status()).toBe('connecting')
    expect(h.writable()).toBe(false)
  })

  it('on open becomes writable, lets the queue flush, and keeps no token in its context', async () => {
    const h = startSocket()
    await toOpen(h, 'tok-secret-value')
    expect(h.status()).toBe('open')
    expect(h.writable()).toBe(true)
    expect(h.effects.log).toEqual(['getToken:initial', 'connect#1', 'flushQueue#1'])
    expect(h.context()).toMatchObject({ connectionId: 1, openedAt: T0, attempts: 0, lastFailure: null })
    expect(JSON.stringify(h.context())).not.toContain('tok-secret-value')
    expect(JSON.parse(JSON.stringify(h.context()))).toEqual(h.context())
  })

  it('abandons a handshake that does not complete within connectTimeoutMs and reconnects after a backoff', async () => {
    const h = startSocket({ input: { settings: { connectTimeoutMs: 5_000 }, jitterSeed: 7 } })
    await h.clock.settle()
    await giveToken(h)
    const connect = h.effects.open('connect')

    await h.clock.advanceTo(T0 + 4_999)
    expect(connect.signal.aborted).toBe(false)
    await h.clock.advanceTo(T0 + 5_000)
    expect(connect.signal.aborted).toBe(true)
    expect(h.status()).toBe('backingOff')
    expect(h.context().lastFailure).toEqual({ kind: 'dropped', message: 'the WebSocket handshake did not complete within 5000 ms', at: T0 + 5_000 })

    await h.clock.advanceTo(h.context().retryAt!)
    await giveToken(h, 'tok-2')
    expect(h.effects.open('connect').input).toEqual({ token: 'tok-2', connectionId: 2 })
  })

  it('a handshake that fails on the network backs off, then asks for a token again and opens connection 2', async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h)
    await h.clock.advanceBy(300)
    await failConnection(h)
    expect(h.status()).toBe('backingOff')
    const { retryAt, lastFailure } = h.context()
    expect(lastFailure).toEqual({ kind: 'dropped', message: 'connect ECONNREFUSED 127.0.0.1:4000', at: T0 + 300 })
    expect(retryAt).toBeGreaterThanOrEqual(T0 + 300)
    expect(retryAt).toBeLessThan(T0 + 300 + 1_000)
    expect(h.effects.sleeps.at(-1)!.until).toBe(retryAt)

    await h.clock.advanceTo(retryAt! - 1)
    expect(h.effects.count('getToken')).toBe(1)
    await h.clock.advanceTo(retryAt!)
    expect(h.effects.open('getToken').input).toEqual({ reason: 'initial' })
    await giveToken(h, 'tok-2')
    await acceptConnection(h)
    expect(h.status()).toBe('open')
    expect(h.effects.log).toEqual(['getToken:initial', 'connect#1', 'getToken:initial', 'connect#2', 'flushQueue#2'])
  })

  it.each([500, 502, 503, 408, 429])('an upgrade answered %i is a drop: back off and reconnect', async (status) => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h)
    await failConnection(h, { message: `Unexpected server response: ${status}`, status })
    expect(h.status()).toBe('backingOff')
    expect(h.context().lastFailure).toMatchObject({ kind: 'dropped', status })
    await h.clock.advanceTo(h.context().retryAt!)
    expect(h.effects.open('getToken').input).toEqual({ reason: 'initial' })
  })

  it('an upgrade refused with 401 gets a refreshed token and reconnects at once, without a backoff', async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h, 'tok-old')
    await failConnection(h, { message: 'Unexpected server response: 401', status: 401 })
    expect(h.status()).toBe('connecting')
    expect(h.effects.open('getToken').input).toEqual({ reason: 'unauthorized' })
    expect(h.context().retryAt).toBeNull()

    await giveToken(h, 'tok-new')
    expect(h.effects.open('connect').input).toEqual({ token: 'tok-new', connectionId: 2 })
    expect(h.clock.now()).toBe(T0)
    await acceptConnection(h)
    expect(h.status()).toBe('open')
    expect(h.context().tokenReason).toBe('initial')
  })

  it('a second 401 in a row backs off before asking for another refreshed token', async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h)
    await failConnection(h, { message: 'Unexpected server response: 401', status: 401 })
    await giveToken(h, 'tok-2')
    await failConnection(h, { message: 'Unexpected server response: 401', status: 401 })
    expect(h.status()).toBe('backingOff')
    expect(h.context()).toMatchObject({ unauthorizedStreak: 2, tokenReason: 'unauthorized', attempts: 1 })

    await h.clock.advanceTo(h.context().retryAt!)
    expect(h.effects.open('getToken').input).toEqual({ reason: 'unauthorized' })
    expect(h.effects.log).toEqual(['getToken:initial', 'connect#1', 'getToken:unauthorized', 'connect#2', 'getToken:unauthorized'])
  })

  it.each([403, 404, 400])('an upgrade refused with %i closes the socket as refused, rejects the queue and never reconnects', async (status) => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h)
    await failConnection(h, { message: `Unexpected server response: ${status}`, status })
    expect(h.status()).toBe('closed')
    const failure = { kind: 'refused', message: `Unexpected server response: ${status}`, at: T0, status }
    expect(h.actor.getSnapshot().output).toEqual({ reason: 'refused', at: T0, failure })
    expect(h.emittedOf('rejectQueue')).toEqual([{ type: 'rejectQueue', outcome: { reason: 'refused', at: T0, failure } }])
    await h.clock.advanceBy(600_000)
    expect(h.effects.count('getToken')).toBe(1)
  })

  it('a handshake closed with 4403 ends the socket as revoked', async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h)
    await failConnection(h, { message: 'the connection closed with code 4403', closeCode: 4403 })
    expect(h.status()).toBe('closed')
    expect(h.emittedOf('revoked')).toHaveLength(1)
    expect(h.actor.getSnapshot().output).toMatchObject({ reason: 'revoked', failure: { kind: 'revoked', closeCode: 4403 } })
  })

  it.each(['token_refresh_failed', 'not_authenticated', 'disposed'])(
    'a token source failing with %s (the session is over) closes the socket as unauthenticated',
    async (code) => {
      const h = startSocket()
      await h.clock.settle()
      h.effects.open('getToken').reject({ code, message: 'a new login is needed', at: T0 })
      await h.clock.settle()
      expect(h.status()).toBe('closed')
      const failure = { kind: 'unauthenticated', message: 'a new login is needed', at: T0, code }
      expect(h.actor.getSnapshot().output).toEqual({ reason: 'unauthenticated', at: T0, failure })
      expect(h.emittedOf('rejectQueue')).toHaveLength(1)
      expect(h.emittedOf('revoked')).toEqual([])
      expect(h.effects.count('connect')).toBe(0)
    },
  )

  it('a token source failing with revoked closes the socket with a revoked event', async () => {
    const h = startSocket()
    await h.clock.settle()
    h.effects.open('getToken').reject({ code: 'revoked', message: 'the agent was revoked', at: T0 })
    await h.clock.settle()
    expect(h.status()).toBe('closed')
    const failure = { kind: 'revoked', message: 'the agent was revoked', at: T0, code: 'revoked' }
    expect(h.emittedOf('revoked')).toEqual([{ type: 'revoked', at: T0, failure }])
    expect(h.effects.log).toEqual(['getToken:initial', 'revoked', 'rejectQueue'])
  })

  it('a token source failing for a reason that may pass is retried after a backoff, keeping the reason of the request', async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h)
    await failConnection(h, { message: 'Unexpected server response: 401', status: 401 })
    h.effects.open('getToken').reject({ code: 'network_error', message: 'token endpoint unreachable', at: T0 })
    await h.clock.settle()
    expect(h.status()).toBe('backingOff')
    expect(h.context().lastFailure).toEqual({ kind: 'tokenUnavailable', message: 'token endpoint unreachable', at: T0, code: 'network_error' })

    await h.clock.advanceTo(h.context().retryAt!)
    expect(h.effects.open('getToken').input).toEqual({ reason: 'unauthorized' })
  })

  it('an error without a message or time is still read: stamped with the last time seen', async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h)
    h.effects.open('connect').reject(new Error(''))
    await h.clock.settle()
    expect(h.context().lastFailure).toEqual({ kind: 'dropped', message: 'the connection failed without a message', at: T0 })
    expect(h.status()).toBe('backingOff')
  })

  it('CLOSE while getting a token aborts the request and closes without connecting', async () => {
    const h = startSocket()
    await h.clock.settle()
    const getToken = h.effects.open('getToken')
    h.actor.send({ type: 'CLOSE', at: T0 + 5 })
    await h.clock.settle()
    expect(getToken.signal.aborted).toBe(true)
    expect(h.status()).toBe('closed')
    expect(h.actor.getSnapshot().output).toEqual({ reason: 'closed', at: T0 + 5, failure: null })
    expect(h.effects.log).toEqual(['getToken:initial', 'rejectQueue'])
  })

  it('CLOSE while the handshake runs aborts the connect and its deadline, and never reconnects', async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h)
    const connect = h.effects.open('connect')
    const deadline = h.effects.sleeps.at(-1)!
    h.actor.send({ type: 'CLOSE' })
    await h.clock.settle()
    expect(connect.signal.aborted).toBe(true)
    expect(deadline.signal.aborted).toBe(true)
    expect(h.status()).toBe('closed')
    expect(h.actor.getSnapshot().status).toBe('done')
    expect(h.emittedOf('closeConnection')).toEqual([])
    await h.clock.advanceBy(600_000)
    expect(h.effects.count('connect')).toBe(1)
  })

  it('CLOSE while idle closes at once', async () => {
    const h = startSocket({ connect: false })
    h.actor.send({ type: 'CLOSE', at: T0 })
    await h.clock.settle()
    expect(h.status()).toBe('closed')
    expect(h.effects.log).toEqual(['rejectQueue'])
  })
})
