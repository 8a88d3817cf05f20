import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Subject } from 'rxjs'
import { CountersignError, ErrorCodes } from '../../src/errors.js'
import { encodeEcho } from '../../src/live/messages.js'
import { LiveSocket } from '../../src/live/socket.js'
import { RefreshGrantSource, eventually, record, registerAgent, revokeAccessToken, startLiveServer, type LiveServer } from './support.js'

let server: LiveServer
beforeAll(async () => {
  server = await startLiveServer()
})
afterAll(async () => {
  await server.dispose()
})

const fast = { backoffBaseMs: 20, backoffMaxMs: 200 }

async function agentSource(scope?: string) {
  return new RefreshGrantSource(server, await registerAgent(server, scope))
}

describe('LiveSocket against the reference server', () => {
  it('opens with the token, echoes, and closes with reason "closed" when asked', async () => {
    const source = await agentSource()
    const socket = new LiveSocket({ url: server.wsUrl, tokenProvider: source.source }, { tokenCheckIntervalMs: false })
    const seen = record(socket)
    await socket.send(encodeEcho('hello', { n: 1 }))
    await eventually(() => seen.messages.length === 1, 'the echo')
    expect(seen.messages).toEqual([{ kind: 'echo', id: 'hello', data: { n: 1 } }])
    expect(socket.state).toBe('open')
    await socket.close()
    expect(await socket.closed).toEqual({ reason: 'closed', at: expect.any(Number), failure: null })
    expect(seen.states).toEqual(['connecting', 'open', 'closed'])
    expect(seen.events.map((e) => e.type)).toEqual(['open', 'closed'])
  })

  it('holds sends made before the connection opens and sends them in order once it does', async () => {
    const socket = new LiveSocket({ url: server.wsUrl, tokenProvider: (await agentSource()).source }, { tokenCheckIntervalMs: false })
    const seen = record(socket)
    const ids = Array.from({ length: 50 }, (_, i) => i)
    const sends = ids.map((id) => socket.send(encodeEcho(id)))
    expect(socket.pending).toBe(50)
    await Promise.all(sends)
    await eventually(() => seen.echoes.length === 50, '50 echoes')
    expect(seen.echoes).toEqual(ids)
    await socket.close()
  })

  it('rejects a send with QUEUE_FULL when the queue holds queueSize sends, and still sends the others', async () => {
    const socket = new LiveSocket({ url: server.wsUrl, tokenProvider: (await agentSource()).source }, { queueSize: 3, tokenCheckIntervalMs: false })
    const seen = record(socket)
    const accepted = [1, 2, 3].map((id) => socket.send(encodeEcho(id)))
    const error = await socket.send(encodeEcho(4)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({ code: ErrorCodes.QUEUE_FULL, message: 'the send queue is full (3 messages not yet written); wait for earlier sends or raise options.queueSize' })
    await Promise.all(accepted)
    await eventually(() => seen.echoes.length === 3, '3 echoes')
    expect(seen.echoes).toEqual([1, 2, 3])
    await socket.close()
  })

  it('close() while connecting rejects every queued send with SOCKET_CLOSED, and later sends too', async () => {
    const socket = new LiveSocket({ url: server.wsUrl, tokenProvider: (await agentSource()).source }, { tokenCheckIntervalMs: false })
    const queued = [socket.send('a'), socket.send('b')]
    await socket.close()
    const message = 'the message was not sent: the socket was closed'
    for (const send of [...queued, socket.send('c')]) {
      const error = await send.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CountersignError)
      expect(error).toMatchObject({ code: ErrorCodes.SOCKET_CLOSED, message })
    }
    expect(socket.state).toBe('closed')
  })

  it('an upgrade refused with 401 leads to one refresh, then a connection with the new token', async () => {
    const source = await agentSource()
    await revokeAccessToken(server, source.tokens.accessToken)
    const upgrades = server.upgrades
    const socket = new LiveSocket({ url: server.wsUrl, tokenProvider: source.source }, { tokenCheckIntervalMs: false, settings: fast })
    const seen = record(socket)
    await socket.send(encodeEcho('after-refresh'))
    await eventually(() => seen.echoes.length === 1, 'the echo')
    expect(source.refreshes).toBe(1)
    expect(source.reasons).toEqual(['initial', 'initial', 'unauthorized'])
    expect(server.upgrades - upgrades).toBe(2)
    expect(seen.of('disconnected').map((e) => e.failure)).toEqual([
      { kind: 'unauthorized', status: 401, message: 'the server refused the WebSocket upgrade with HTTP 401', at: expect.any(Number) },
    ])
    expect(seen.states).toEqual(['connecting', 'open'])
    await socket.close()
  })

  it('a 4401 on the open connection leads to one refresh and a new connection', async () => {
    const source = await agentSource()
    const socket = new LiveSocket({ url: server.wsUrl, tokenProvider: source.source }, { tokenCheckIntervalMs: false, settings: fast })
    const seen = record(socket)
    await eventually(() => socket.state === 'open', 'the first connection')
    await revokeAccessToken(server, source.tokens.accessToken)
    // The server checks the token with each message and closes with 4401; this one is not answered.
    await socket.send(encodeEcho('refused'))
    await eventually(() => seen.of('open').length === 2, 'the second connection')
    await socket.send(encodeEcho('answered'))
    await eventually(() => seen.echoes.length === 1, 'the echo')
    expect(seen.echoes).toEqual(['answered'])
    expect(source.refreshes).toBe(1)
    expect(seen.of('disconnected').map((e) => [e.failure.kind, e.failure.closeCode, e.failure.expired])).toEqual([['unauthorized', 4401, undefined]])
    // Revoked, not expired: the source is asked with 'unauthorized' (after 'initial', in case it had a newer token).
    expect(source.reasons).toEqual(['initial', 'initial', 'unauthorized'])
    await socket.close()
  })

  it('re-authenticates in band when tokenChanges$ announces a rotation, without a new connection', async () => {
    const source = await agentSource()
    const changes = new Subject<string>()
    const socket = new LiveSocket({ url: server.wsUrl, tokenProvider: source.source }, { tokenChanges$: changes })
    const seen = record(socket)
    await eventually(() => socket.state === 'open', 'the connection')
    const upgrades = server.upgrades
    changes.next(await source.refresh())
    await eventually(() => seen.of('reauthenticated').length === 1, 'the in-band auth')
    await socket.send(encodeEcho('same-connection'))
    await eventually(() => seen.echoes.length === 1, 'the echo')
    expect(server.upgrades).toBe(upgrades)
    expect(seen.of('open')).toHaveLength(1)
    expect(seen.states).toEqual(['connecting', 'open', 'reauthenticating', 'open'])
    await socket.close()
  })

  it('with a bare tokenProvider, notices a rotation by asking it every tokenCheckIntervalMs', async () => {
    const source = await agentSource()
    const socket = new LiveSocket({ url: server.wsUrl, tokenProvider: source.source }, { tokenCheckIntervalMs: 20 })
    const seen = record(socket)
    await eventually(() => socket.state === 'open', 'the connection')
    await source.refresh()
    await eventually(() => seen.of('reauthenticated').length === 1, 'the in-band auth')
    expect(seen.of('open')).toHaveLength(1)
    await socket.close()
  })

  it('revoking the agent closes the socket with a revoked event; it does not reconnect and refuses sends with REVOKED', async () => {
    const source = await agentSource()
    const socket = new LiveSocket({ url: server.wsUrl, tokenProvider: source.source }, { tokenCheckIntervalMs: false, settings: fast })
    const seen = record(socket)
    await eventually(() => socket.state === 'open', 'the connection')
    const upgrades = server.upgrades
    await server.owner.revokeAgent(source.tokens.agentId)
    const outcome = await socket.closed
    expect(outcome).toMatchObject({ reason: 'revoked', failure: { kind: 'revoked', closeCode: 4403 } })
    expect(seen.of('revoked')).toEqual([{ type: 'revoked', at: expect.any(Number), failure: outcome.failure }])
    const error = await socket.send('late').catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCodes.REVOKED, message: 'the message was not sent: the server revoked the credentials of this socket (4403)' })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(server.upgrades).toBe(upgrades)
    expect(seen.states.at(-1)).toBe('closed')
  })

  it('an upgrade refused for good (403: the token lacks the scope) closes the socket as "refused" without retrying', async () => {
    const upgrades = server.upgrades
    const socket = new LiveSocket({ url: server.wsUrl, tokenProvider: (await agentSource('agent:write offline_access')).source }, { tokenCheckIntervalMs: false, settings: fast })
    const queued = socket.send('never')
    const outcome = await socket.closed
    expect(outcome).toMatchObject({ reason: 'refused', failure: { kind: 'refused', status: 403 } })
    await expect(queued).rejects.toMatchObject({
      code: ErrorCodes.SOCKET_CLOSED,
      message: 'the message was not sent: the socket closed because the server refused the connection (the server refused the WebSocket upgrade with HTTP 403)',
    })
    expect(server.upgrades - upgrades).toBe(1)
  })
})

describe('LiveSocket misuse', () => {
  const tokenProvider = async () => 'token'
  it('names the argument that is wrong', () => {
    expect(() => new LiveSocket(undefined as never)).toThrow(new TypeError('target must be an object { url, tokenProvider } or { url, auth }'))
    expect(() => new LiveSocket({ url: 'http://127.0.0.1/ws', tokenProvider })).toThrow(new TypeError('target.url must be a ws:// or wss:// URL, not http:'))
    expect(() => new LiveSocket({ url: '/ws', tokenProvider })).toThrow(new TypeError('target.url must be an absolute ws:// or wss:// URL'))
    // @ts-expect-error neither tokenProvider nor auth: the run-time check is for callers without types.
    expect(() => new LiveSocket({ url: 'ws://127.0.0.1/ws' })).toThrow(new TypeError('target.tokenProvider must be a function returning a Promise of the access token (or pass target.auth)'))
    expect(() => new LiveSocket({ url: 'ws://127.0.0.1/ws', tokenProvider }, { queueSize: 0 })).toThrow(new TypeError('options.queueSize must be a positive integer'))
    expect(() => new LiveSocket({ url: 'ws://127.0.0.1/ws', tokenProvider }, { tokenCheckIntervalMs: -5 })).toThrow(new TypeError('options.tokenCheckIntervalMs must be a positive number of milliseconds or false'))
    expect(() => new LiveSocket({ url: 'ws://127.0.0.1/ws', tokenProvider }, { settings: { pingIntervalMs: 0 } })).toThrow(new TypeError('settings.pingIntervalMs must be a positive number of milliseconds'))
  })

  it('send() rejects (does not throw) data that is not a string or bytes, naming it, and queues nothing', async () => {
    const socket = new LiveSocket({ url: 'ws://127.0.0.1:9/ws', tokenProvider }, { tokenCheckIntervalMs: false })
    for (const data of [{ type: 'echo' }, undefined, 42, null]) {
      let pending: Promise<void> | undefined
      expect(() => (pending = socket.send(data as never))).not.toThrow()
      const error = await pending!.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TypeError)
      expect(error).toMatchObject({ message: 'data must be a string, an ArrayBuffer or a typed array (encode objects first, e.g. with encodeEcho() or JSON.stringify())' })
    }
    expect(socket.pending).toBe(0)
    await socket.close()
  })
})
