import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCodes, InsufficientScopeError } from '../../src/errors.js'
import { createHttpClient } from '../../src/http/client.js'
import { RefreshGrantSource, registerAgent, revokeAccessToken, startLiveServer, type LiveServer } from '../live/support.js'

let server: LiveServer
beforeAll(async () => {
  server = await startLiveServer()
})
afterAll(async () => {
  await server.dispose()
})

describe('HTTP client against the reference server, with a token source of its own', () => {
  it('reads /api/agent/me with the Bearer token', async () => {
    const tokens = await registerAgent(server)
    const http = createHttpClient({ baseUrl: server.url, tokenProvider: new RefreshGrantSource(server, tokens).source })
    const response = await http.fetch('/api/agent/me')
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ agent_id: tokens.agentId, owner: server.owner.ownerId })
  })

  it('200 concurrent requests that all meet a 401 cause exactly one refresh, and all succeed', async () => {
    const source = new RefreshGrantSource(server, await registerAgent(server))
    await revokeAccessToken(server, source.tokens.accessToken)
    const http = createHttpClient({ baseUrl: server.url, tokenProvider: source.source })
    const before = server.tokenRequests
    const responses = await Promise.all(Array.from({ length: 200 }, () => http.fetch('/api/agent/me')))
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(200))
    await Promise.all(responses.map((r) => r.json()))
    expect(server.tokenRequests - before).toBe(1)
    expect(source.refreshes).toBe(1)
  })

  it('a token without the scope the endpoint needs rejects with InsufficientScopeError naming it', async () => {
    const tokens = await registerAgent(server, 'agent:write offline_access')
    const http = createHttpClient({ baseUrl: server.url, tokenProvider: new RefreshGrantSource(server, tokens).source })
    const error = await http.fetch('/api/agent/me').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InsufficientScopeError)
    expect(error).toMatchObject({
      code: ErrorCodes.INSUFFICIENT_SCOPE,
      status: 403,
      oauthError: 'insufficient_scope',
      requiredScopes: ['agent:read'],
      message: `GET ${server.url}/api/agent/me was refused with 403: the access token lacks a required scope: agent:read`,
    })
  })
})

describe("HTTP client against the reference server: a 401 for an expired token", () => {
  it("passes 'expired' when the server's words say the token expired, though by the client's clock it has not", async () => {
    // The server's clock runs 2 minutes ahead: its 60 s tokens are expired to it, live to the client.
    let skew = 0
    const ahead = await startLiveServer({ accessTtl: 60, now: () => Date.now() + skew })
    try {
      const source = new RefreshGrantSource(ahead, await registerAgent(ahead))
      skew = 120_000
      const response = await createHttpClient({ baseUrl: ahead.url, tokenProvider: source.source }).fetch('/api/agent/me')
      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({ agent_id: source.tokens.agentId })
      // 'expired' first: the source keeps a token it thinks live, and the client then forces the refresh.
      expect(source.reasons).toEqual(['initial', 'expired', 'unauthorized'])
      expect(source.refreshes).toBe(1)
    } finally {
      await ahead.dispose()
    }
  })
})
