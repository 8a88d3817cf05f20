import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WsClient, getWithToken, realTimePast, refusedUpgrade, startResourceServer, type Login, type ResourceServer } from './resource-support.js'

/** An agent whose access token (60 s) was issued as if 65 s ago: expired now, and genuine. */
async function registeredExpired(server: ResourceServer): Promise<Login> {
  server.skew = -65_000
  try {
    return await server.register()
  } finally {
    server.skew = 0
  }
}

describe('GET /ws', () => {
  let server: ResourceServer

  beforeAll(async () => {
    server = await startResourceServer({ accessTtl: 60 })
  })
  afterAll(() => server.dispose())

  describe('the upgrade', () => {
    it('is refused with a plain 401 and a realm-only challenge when no token is sent', async () => {
      const answer = await refusedUpgrade(server.wsUrl, undefined)
      expect(answer).toMatchObject({ status: 401, challenge: 'Bearer realm="countersign"', opened: false })
      expect(answer.body.error).toBe('invalid_token')
    })

    it('is refused with 401 invalid_token before upgrading for a bad token', async () => {
      const answer = await refusedUpgrade(server.wsUrl, 'Bearer garbage')
      expect(answer).toEqual({
        status: 401,
        challenge: 'Bearer realm="countersign", error="invalid_token", error_description="the access token is invalid: not one this server signed for its audience, or malformed"',
        body: { error: 'invalid_token', error_description: 'the access token is invalid: not one this server signed for its audience, or malformed' },
        opened: false,
      })
    })

    it('is refused with 401 invalid_token saying so for an expired token', async () => {
      const stale = await registeredExpired(server)
      const answer = await refusedUpgrade(server.wsUrl, `Bearer ${stale.accessToken}`)
      expect(answer).toEqual({
        status: 401,
        challenge: 'Bearer realm="countersign", error="invalid_token", error_description="the access token expired"',
        body: { error: 'invalid_token', error_description: 'the access token expired' },
        opened: false,
      })
    })

    it('is refused with 401 for a token of a revoked family', async () => {
      const login = await server.register()
      await server.revoke(login.refreshToken)
      const answer = await refusedUpgrade(server.wsUrl, `Bearer ${login.accessToken}`)
      expect(answer.status).toBe(401)
      expect(answer.body.error_description).toBe('the access token was revoked')
    })

    it('is refused with 403 insufficient_scope for a token without agent or agent:read', async () => {
      const login = await server.register({ scope: 'agent:write' })
      const answer = await refusedUpgrade(server.wsUrl, `Bearer ${login.accessToken}`)
      expect(answer.status).toBe(403)
      expect(answer.challenge).toContain('error="insufficient_scope"')
      expect(answer.challenge).toContain('scope="agent:read"')
    })

    it.each(['/', '/device', '/api/agent/me', '/.well-known/jwks.json'])('is refused with 404 at %s, which is no WebSocket, rather than upgraded and closed', async (path) => {
      const login = await server.register()
      const answer = await refusedUpgrade(server.wsUrl.replace(/\/ws$/, path), `Bearer ${login.accessToken}`)
      expect(answer).toEqual({ status: 404, challenge: undefined, body: { error: 'not_found', error_description: `there is no WebSocket at ${path}; it is at /ws` }, opened: false })
    })

    it('answers a plain GET without the upgrade with 426', async () => {
      const login = await server.register()
      const answer = await getWithToken(server.wsUrl.replace(/^ws/, 'http'), `Bearer ${login.accessToken}`)
      expect(answer.status).toBe(426)
      expect(answer.body).toEqual({ error: 'invalid_request', error_description: 'this endpoint needs a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket)' })
    })
  })

  describe('messages', () => {
    it('echoes an echo message back as the same object, in order', async () => {
      const login = await server.register()
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      const first = { type: 'echo', id: 1, data: { nested: [1, 'two', null], unicode: 'é✓' } }
      const second = { type: 'echo', id: 'b', data: 'x'.repeat(10_000) }
      client.send(first)
      client.send(second)
      expect(await client.message(1)).toEqual(first)
      expect(await client.message(2)).toEqual(second)
      client.close()
    })

    it('answers malformed messages with an error message and keeps the connection', async () => {
      const login = await server.register()
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      expect(await client.ask('{not json')).toEqual({ type: 'error', error: 'invalid_message', error_description: 'the message is not valid JSON' })
      expect(await client.ask([1, 2])).toEqual({ type: 'error', error: 'invalid_message', error_description: 'the message must be a JSON object with a "type"' })
      expect(await client.ask('null')).toEqual({ type: 'error', error: 'invalid_message', error_description: 'the message must be a JSON object with a "type"' })
      expect(await client.ask({ type: 'launch', id: 7 })).toEqual({ type: 'error', error: 'invalid_message', error_description: 'the message type must be one of "auth", "echo"', id: 7 })
      expect(await client.ask({ id: 'q' })).toEqual({ type: 'error', error: 'invalid_message', error_description: 'the message type must be one of "auth", "echo"', id: 'q' })
      expect(await client.ask({ type: 'auth', token: 42, id: 8 })).toEqual({ type: 'error', error: 'invalid_message', error_description: 'an auth message needs "token": the new access token as a non-empty string', id: 8 })
      expect(await client.ask({ type: 'echo', id: 9 })).toEqual({ type: 'echo', id: 9 })
      client.close()
    })

    it('closes with 1003 on a binary frame, and the server keeps serving', async () => {
      const login = await server.register()
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      client.socket.send(Buffer.from([1, 2, 3]), { binary: true })
      expect(await client.closed).toEqual({ code: 1003, reason: 'this endpoint accepts JSON text messages only' })
      const other = await WsClient.open(server.wsUrl, login.accessToken)
      expect(await other.ask({ type: 'echo', id: 1 })).toEqual({ type: 'echo', id: 1 })
      other.close()
    })

    it('closes with 1008 a connection that sends far more than it reads, and the server keeps serving', async () => {
      const login = await server.register()
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      // A flood in one go: auth messages, each a signature to check, far past the bound of waiting messages.
      const flood = JSON.stringify({ type: 'auth', token: login.accessToken })
      for (let i = 0; i < 20_000; i++) client.socket.send(flood)
      const closed = await client.closed
      expect(closed.code).toBe(1008)
      expect(closed.reason).toMatch(/^too many messages wait for an answer/)
      // Answered no more than the bound allowed in; the rest were never handled.
      expect(client.messages.length).toBeLessThanOrEqual(1_000)
      const other = await WsClient.open(server.wsUrl, login.accessToken)
      expect(await other.ask({ type: 'echo', id: 1 })).toEqual({ type: 'echo', id: 1 })
      other.close()
    })

    it('keeps a connection that sends many messages while it reads the answers', async () => {
      const login = await server.register()
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 500; i++) client.send({ type: 'echo', id: round * 500 + i })
        expect(await client.message((round + 1) * 500)).toEqual({ type: 'echo', id: round * 500 + 499 })
      }
      client.close()
    })
  })

  describe('in-band re-authentication', () => {
    it('accepts a rotated token of the same agent and keeps the connection past the first token\'s expiry', async () => {
      const first = await server.registerNearlyExpired()
      const client = await WsClient.open(server.wsUrl, first.accessToken)
      const rotated = await server.refresh(first)
      expect(rotated.exp).toBeGreaterThan(first.exp)
      expect(await client.ask({ type: 'auth', token: rotated.accessToken })).toEqual({ type: 'auth_ok', exp: rotated.exp })
      await realTimePast(first.exp * 1000)
      expect(await client.ask({ type: 'echo', id: 'after' })).toEqual({ type: 'echo', id: 'after' })
      client.close()
    })

    it('closes with 4401 when the token expires without re-authentication', async () => {
      const login = await server.registerNearlyExpired()
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      const closed = await client.closed
      expect(closed).toEqual({ code: 4401, reason: 'the access token expired; send {"type":"auth"} with a new token before it does' })
      expect(Date.now()).toBeGreaterThanOrEqual(login.exp * 1000)
    })

    it('closes with 4401 when the new token belongs to another agent', async () => {
      const mine = await server.register()
      const theirs = await server.register()
      const client = await WsClient.open(server.wsUrl, mine.accessToken)
      client.send({ type: 'auth', token: theirs.accessToken })
      expect(await client.closed).toEqual({ code: 4401, reason: 'the token belongs to another agent than this connection' })
    })

    it('closes with 4401 when the new token is not valid', async () => {
      const login = await server.register()
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      client.send({ type: 'auth', token: 'garbage' })
      expect(await client.closed).toEqual({ code: 4401, reason: 'the access token is invalid: not one this server signed for its audience, or malformed' })
    })

    it('closes with 4401 saying so when the new token has expired', async () => {
      const stale = await registeredExpired(server)
      const login = await server.register()
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      client.send({ type: 'auth', token: stale.accessToken })
      expect(await client.closed).toEqual({ code: 4401, reason: 'the access token expired' })
    })

    it('closes with 4403 when the new token lacks the scope', async () => {
      const login = await server.register({ scope: 'agent agent:write offline_access' })
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      const narrowed = await server.refresh(login, 'agent:write')
      client.send({ type: 'auth', token: narrowed.accessToken })
      expect(await client.closed).toEqual({ code: 4403, reason: 'this endpoint needs an access token with the scope agent or agent:read' })
    })

    it('follows the new token\'s family: revoking the old family no longer closes the connection', async () => {
      const first = await server.register()
      const client = await WsClient.open(server.wsUrl, first.accessToken)
      // A second login of the same agent: another family.
      const relogin = await server.register()
      void relogin
      const rotated = await server.refresh(first)
      expect((await client.ask({ type: 'auth', token: rotated.accessToken })).type).toBe('auth_ok')
      await server.revoke(rotated.refreshToken)
      expect(await client.closed).toMatchObject({ code: 4403 })
    })
  })

  describe('revocation', () => {
    it('closes with 4403 at once when the token family is revoked through its refresh token', async () => {
      const login = await server.register()
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      const closing = client.closed
      await server.revoke(login.refreshToken, 'refresh_token')
      expect(await closing).toEqual({ code: 4403, reason: 'the token family was revoked' })
    })

    it('closes with 4403 when the owner revokes the agent', async () => {
      const login = await server.register()
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      await server.revokeAgent(login.agentId)
      expect(await client.closed).toEqual({ code: 4403, reason: 'the token family was revoked' })
    })

    it('leaves connections of other families open', async () => {
      const revoked = await server.register()
      const kept = await server.register()
      const doomed = await WsClient.open(server.wsUrl, revoked.accessToken)
      const survivor = await WsClient.open(server.wsUrl, kept.accessToken)
      await server.revoke(revoked.refreshToken)
      await doomed.closed
      expect(await survivor.ask({ type: 'echo', id: 1 })).toEqual({ type: 'echo', id: 1 })
      survivor.close()
    })

    it('closes with 4401 on the next message once the connection\'s access token alone was revoked', async () => {
      const login = await server.register()
      const client = await WsClient.open(server.wsUrl, login.accessToken)
      await server.revoke(login.accessToken, 'access_token')
      client.send({ type: 'echo', id: 1 })
      expect(await client.closed).toEqual({ code: 4401, reason: 'the access token was revoked' })
    })
  })
})

describe('GET /ws when the server stops', () => {
  it('ends open connections with 1001 (going away), so clients know to reconnect', async () => {
    const server = await startResourceServer()
    const login = await server.register()
    const client = await WsClient.open(server.wsUrl, login.accessToken)
    await server.dispose()
    const { code } = await client.closed
    expect(code).toBe(1001)
  })
})
