/**
 * A LiveSocket tells its token source why it needs a new token after a
 * refusal: 'expired' when the token had expired (the server's close reason
 * or challenge says so, or the token's own exp has passed), 'unauthorized'
 * otherwise. Against the real reference server, and the small ws server for
 * a 401 whose challenge says the token expired.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { encodeEcho } from '../../src/live/messages.js'
import { LiveSocket } from '../../src/live/socket.js'
import { RefreshGrantSource, eventually, record, registerAgent, startLiveServer, type LiveServer } from './support.js'
import { startWsServer, type TinyWsServer } from './ws-server.js'

const fast = { backoffBaseMs: 20, backoffMaxMs: 200 }

describe('LiveSocket against the reference server whose access tokens live 1 s', () => {
  let server: LiveServer
  beforeAll(async () => {
    server = await startLiveServer({ accessTtl: 1 })
  })
  afterAll(async () => {
    await server.dispose()
  })

  it("the server's 4401 for an expired token asks the source with 'expired': one refresh, one new connection", async () => {
    const source = new RefreshGrantSource(server, await registerAgent(server))
    // No rotation is announced: the token expires on the open connection and the server closes it.
    const socket = new LiveSocket({ url: server.wsUrl, tokenProvider: source.source }, { tokenCheckIntervalMs: false, settings: fast })
    const seen = record(socket)
    try {
      await eventually(() => seen.of('open').length === 2, 'the connection after the expiry', 4000)
      const [drop] = seen.of('disconnected')
      expect(drop!.failure).toMatchObject({ kind: 'unauthorized', closeCode: 4401, expired: true, message: expect.stringContaining('the access token expired') })
      expect(source.reasons).toEqual(['initial', 'expired'])
      expect(source.refreshes).toBe(1)
      await socket.send(encodeEcho('after-expiry'))
      await eventually(() => seen.echoes.length === 1, 'the echo')
    } finally {
      await socket.close()
    }
  })
})

describe('LiveSocket and a 401 upgrade whose challenge says the token expired', () => {
  let server: TinyWsServer | null = null
  afterEach(async () => {
    await server?.close()
    server = null
  })

  it("asks the source with 'expired', and connects with the token it gives without forcing a refresh", async () => {
    const challenge = { 'www-authenticate': 'Bearer error="invalid_token", error_description="The access token expired"' }
    server = await startWsServer((upgrade) => (upgrade.n === 1 ? upgrade.refuse(401, challenge) : void upgrade.accept()))
    const reasons: string[] = []
    let token = 'opaque-1'
    const tokenProvider = async (reason?: string) => {
      reasons.push(reason ?? 'none')
      if (reason === 'expired') token = 'opaque-2'
      return token
    }
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, settings: fast })
    const seen = record(socket)
    try {
      await eventually(() => socket.state === 'open', 'the connection')
      expect(reasons).toEqual(['initial', 'expired'])
      expect(server.upgrades.map((u) => u.request.headers.authorization)).toEqual(['Bearer opaque-1', 'Bearer opaque-2'])
      expect(seen.of('disconnected').map((e) => e.failure)).toEqual([
        { kind: 'unauthorized', status: 401, expired: true, message: 'the server refused the WebSocket upgrade with HTTP 401', at: expect.any(Number) },
      ])
    } finally {
      await socket.close()
    }
  })
})
