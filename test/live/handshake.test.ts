import { afterEach, describe, expect, it } from 'vitest'
import { LiveSocket } from '../../src/live/socket.js'
import { eventually, record } from './support.js'
import { endedByClient, startWsServer, type TinyWsServer } from './ws-server.js'

let server: TinyWsServer | null = null
afterEach(async () => {
  await server?.close()
  server = null
})

const tokenProvider = async () => 'token-1'
const quick = { backoffBaseMs: 10, backoffMaxMs: 50 }

describe('LiveSocket handshakes on ws', () => {
  it('sends the token in the Authorization header of the upgrade request, and a new socket per attempt', async () => {
    server = await startWsServer((upgrade) => (upgrade.n === 1 ? upgrade.refuse(503) : void upgrade.accept()))
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, settings: quick })
    await eventually(() => socket.state === 'open', 'the connection')
    expect(server.upgrades.map((u) => u.request.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-1'])
    expect(server.upgrades[0]!.socket).not.toBe(server.upgrades[1]!.socket)
    await socket.close()
  })

  it('reads the status of a refused upgrade, ends that request at once, and backs off on a 5xx', async () => {
    server = await startWsServer((upgrade) => (upgrade.n <= 2 ? upgrade.refuse(upgrade.n === 1 ? 500 : 502) : void upgrade.accept()))
    // A handshake left CONNECTING would only end at this time limit; the test is over long before.
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, settings: { ...quick, connectTimeoutMs: 60_000 } })
    const seen = record(socket)
    await eventually(() => socket.state === 'open', 'the third attempt')
    await endedByClient(server.upgrades[0]!.socket)
    await endedByClient(server.upgrades[1]!.socket)
    expect(seen.of('disconnected').map((e) => [e.failure.kind, e.failure.status, e.failure.message, e.retryAt === null])).toEqual([
      ['dropped', 500, 'the server refused the WebSocket upgrade with HTTP 500', false],
      ['dropped', 502, 'the server refused the WebSocket upgrade with HTTP 502', false],
    ])
    expect(seen.states).toEqual(['connecting', 'backingOff', 'connecting', 'backingOff', 'connecting', 'open'])
    await socket.close()
  })

  it('close() while the handshake is under way ends the attempt: the server sees its connection closed', async () => {
    server = await startWsServer(() => {})
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false })
    const queued = socket.send('never sent').catch((e: unknown) => e)
    await eventually(() => server!.upgrades.length === 1, 'the upgrade request')
    await socket.close()
    await endedByClient(server.upgrades[0]!.socket)
    expect(socket.state).toBe('closed')
    expect(await queued).toMatchObject({ code: 'socket_closed', message: 'the message was not sent: the socket was closed' })
    expect(server.upgrades).toHaveLength(1)
  })

  it('a handshake that takes longer than connectTimeoutMs is abandoned and tried again', async () => {
    server = await startWsServer((upgrade) => (upgrade.n === 2 ? void upgrade.accept() : undefined))
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, settings: { ...quick, connectTimeoutMs: 100 } })
    const seen = record(socket)
    await eventually(() => socket.state === 'open', 'the second attempt')
    await endedByClient(server.upgrades[0]!.socket)
    expect(seen.of('disconnected').map((e) => e.failure.message)).toEqual(['the WebSocket handshake did not complete within 100 ms'])
    await socket.close()
  })

  it('a connection refused by the network is a drop, reported once per attempt, never thrown', async () => {
    const stopped = await startWsServer(() => {})
    const url = stopped.url
    await stopped.close()
    const socket = new LiveSocket({ url, tokenProvider }, { tokenCheckIntervalMs: false, settings: quick })
    const seen = record(socket)
    await eventually(() => seen.of('disconnected').length >= 3, 'three attempts')
    for (const event of seen.of('disconnected')) expect(event.failure).toMatchObject({ kind: 'dropped', message: expect.stringContaining('ECONNREFUSED') })
    await socket.close()
    expect((await socket.closed).reason).toBe('closed')
  })
})

describe('LiveSocket token source failures', () => {
  it('a token source that fails with an error of its own is asked again after a backoff, and the socket then connects', async () => {
    server = await startWsServer((upgrade) => void upgrade.accept())
    let calls = 0
    const flaky = async () => {
      if (++calls <= 2) throw new Error('token backend unreachable')
      return 'token-1'
    }
    const socket = new LiveSocket({ url: server.url, tokenProvider: flaky }, { tokenCheckIntervalMs: false, settings: quick })
    const seen = record(socket)
    await eventually(() => socket.state === 'open', 'the connection')
    expect(seen.of('disconnected').map((e) => [e.failure.kind, e.failure.message])).toEqual([
      ['tokenUnavailable', 'token backend unreachable'],
      ['tokenUnavailable', 'token backend unreachable'],
    ])
    expect(server.upgrades.map((u) => u.request.headers.authorization)).toEqual(['Bearer token-1'])
    await socket.close()
  })

  it('a token source whose session is over closes the socket as "unauthenticated" without connecting', async () => {
    server = await startWsServer((upgrade) => void upgrade.accept())
    const { TokenRefreshError } = await import('../../src/errors.js')
    const over = async () => {
      throw new TokenRefreshError('the refresh token was revoked; a new login is needed')
    }
    const socket = new LiveSocket({ url: server.url, tokenProvider: over }, { tokenCheckIntervalMs: false, settings: quick })
    expect(await socket.closed).toEqual({
      reason: 'unauthenticated',
      at: expect.any(Number),
      failure: { kind: 'unauthenticated', code: 'token_refresh_failed', message: 'the refresh token was revoked; a new login is needed', at: expect.any(Number) },
    })
    expect(server.upgrades).toHaveLength(0)
  })
})

describe('LiveSocket frames', () => {
  it('delivers binary frames as bytes, reports a frame that is not JSON without closing, and sends bytes as binary', async () => {
    server = await startWsServer(async (upgrade) => {
      const ws = await upgrade.accept()
      ws.send('not json')
      ws.send(Buffer.from([1, 2, 3]))
      ws.send('{"type":"news","n":1}')
    })
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false })
    const seen = record(socket)
    await eventually(() => seen.messages.length === 2, 'two messages')
    const [bytes, news] = seen.messages
    expect(bytes).toMatchObject({ kind: 'message', binary: true })
    expect([...(bytes as { data: Uint8Array }).data]).toEqual([1, 2, 3])
    expect(news).toEqual({ kind: 'message', binary: false, data: { type: 'news', n: 1 } })
    expect(seen.of('invalidMessage').map((e) => [e.error.code, e.error.message])).toEqual([['invalid_response', 'the server sent a WebSocket message that is not JSON (8 characters)']])
    await socket.send(new Uint8Array([9, 8]))
    await socket.send('text')
    await eventually(() => server!.received[0]!.length === 2, 'two frames at the server')
    expect(server.received[0]).toEqual(['binary:0908', 'text'])
    expect(socket.state).toBe('open')
    await socket.close()
  })
})
