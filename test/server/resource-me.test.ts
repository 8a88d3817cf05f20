import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getWithToken, startResourceServer, type ResourceServer } from './resource-support.js'

const INVALID = 'the access token is invalid: not one this server signed for its audience, or malformed'
const EXPIRED = 'the access token expired'
const REVOKED = 'the access token was revoked'

function invalidTokenChallenge(description: string): string {
  return `Bearer realm="countersign", error="invalid_token", error_description="${description}"`
}

describe('GET /api/agent/me', () => {
  let server: ResourceServer
  let me: string

  beforeAll(async () => {
    server = await startResourceServer({ accessTtl: 60 })
    me = `${server.url}/api/agent/me`
  })
  afterAll(() => server.dispose())

  it('answers who the agent is for a live access token', async () => {
    const login = await server.register({ name: 'Report Writer', scope: 'agent offline_access' })
    const answer = await getWithToken(me, `Bearer ${login.accessToken}`)
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ agent_id: login.agentId, name: 'Report Writer', username: 'report-writer', owner: server.ownerId, scope: 'agent offline_access' })
    expect(answer.challenge).toBeNull()
  })

  it('accepts the narrower agent:read scope', async () => {
    const login = await server.register({ scope: 'agent:read' })
    const answer = await getWithToken(me, `Bearer ${login.accessToken}`)
    expect(answer.status).toBe(200)
    expect(answer.body.scope).toBe('agent:read')
  })

  it('accepts the scheme name in any case (RFC 6750 §2.1 follows RFC 7235: schemes are case-insensitive)', async () => {
    const login = await server.register()
    expect((await getWithToken(me, `bearer ${login.accessToken}`)).status).toBe(200)
  })

  it('answers 401 with a realm-only challenge when the request carries no token (RFC 6750 §3.1)', async () => {
    const answer = await getWithToken(me)
    expect(answer.status).toBe(401)
    expect(answer.challenge).toBe('Bearer realm="countersign"')
    expect(answer.body).toEqual({ error: 'invalid_token', error_description: 'the request carries no access token; send it as Authorization: Bearer <token>' })
  })

  it('treats credentials of another scheme as no Bearer token at all', async () => {
    const answer = await getWithToken(me, 'Basic dXNlcjpwYXNz')
    expect(answer.status).toBe(401)
    expect(answer.challenge).toBe('Bearer realm="countersign"')
  })

  it('answers 401 invalid_token for a garbage token', async () => {
    const answer = await getWithToken(me, 'Bearer not-a-jwt')
    expect(answer.status).toBe(401)
    expect(answer.challenge).toBe(invalidTokenChallenge(INVALID))
    expect(answer.body).toEqual({ error: 'invalid_token', error_description: INVALID })
  })

  it('answers 401 invalid_token for a Bearer header without a token or with characters a token cannot have', async () => {
    const empty = await getWithToken(me, 'Bearer ')
    expect(empty.status).toBe(401)
    expect(empty.body).toEqual({ error: 'invalid_token', error_description: 'the Authorization header names the Bearer scheme but carries no token' })
    expect(empty.challenge).toBe(invalidTokenChallenge('the Authorization header names the Bearer scheme but carries no token'))
    const odd = await getWithToken(me, 'Bearer abc"def')
    expect(odd.status).toBe(401)
    expect(odd.body.error_description).toBe('the Bearer token in the Authorization header has characters a token cannot have')
  })

  it('answers 401 invalid_token for a token whose signature does not verify', async () => {
    const login = await server.register()
    const [header, payload] = login.accessToken.split('.')
    const forged = `${header}.${payload}.${Buffer.alloc(64, 7).toString('base64url')}`
    const answer = await getWithToken(me, `Bearer ${forged}`)
    expect(answer.status).toBe(401)
    expect(answer.body).toEqual({ error: 'invalid_token', error_description: INVALID })
  })

  it('answers 401 invalid_token once the access token has expired', async () => {
    const login = await server.register()
    server.skew = (login.exp + 1) * 1000 - Date.now()
    try {
      const answer = await getWithToken(me, `Bearer ${login.accessToken}`)
      expect(answer.status).toBe(401)
      expect(answer.challenge).toBe(invalidTokenChallenge(EXPIRED))
      expect(answer.body).toEqual({ error: 'invalid_token', error_description: EXPIRED })
    } finally {
      server.skew = 0
    }
    // The same token, with the clock put right, still works: it was the expiry that refused it.
    expect((await getWithToken(me, `Bearer ${login.accessToken}`)).status).toBe(200)
  })

  it('says invalid, not expired, for an expired token whose signature does not verify: only a token of this server is told it expired', async () => {
    const login = await server.register()
    const [header, payload] = login.accessToken.split('.')
    const forged = `${header}.${payload}.${Buffer.alloc(64, 7).toString('base64url')}`
    server.skew = (login.exp + 1) * 1000 - Date.now()
    try {
      const answer = await getWithToken(me, `Bearer ${forged}`)
      expect(answer.status).toBe(401)
      expect(answer.body).toEqual({ error: 'invalid_token', error_description: INVALID })
    } finally {
      server.skew = 0
    }
  })

  it('answers 401 invalid_token for an access token revoked at /oauth/revoke, while the login lives on', async () => {
    const login = await server.register()
    await server.revoke(login.accessToken, 'access_token')
    const answer = await getWithToken(me, `Bearer ${login.accessToken}`)
    expect(answer.status).toBe(401)
    expect(answer.challenge).toBe(invalidTokenChallenge(REVOKED))
    expect(answer.body).toEqual({ error: 'invalid_token', error_description: REVOKED })
    // Revoking one access token leaves its family alone: a refresh gives a working token.
    const refreshed = await server.refresh(login)
    expect((await getWithToken(me, `Bearer ${refreshed.accessToken}`)).status).toBe(200)
  })

  it('answers 401 invalid_token for every access token of a family whose refresh token was revoked', async () => {
    const login = await server.register()
    const refreshed = await server.refresh(login)
    await server.revoke(refreshed.refreshToken, 'refresh_token')
    for (const token of [login.accessToken, refreshed.accessToken]) {
      const answer = await getWithToken(me, `Bearer ${token}`)
      expect(answer.status).toBe(401)
      expect(answer.body).toEqual({ error: 'invalid_token', error_description: REVOKED })
    }
  })

  it('answers 401 invalid_token after the owner revokes the agent', async () => {
    const login = await server.register()
    await server.revokeAgent(login.agentId)
    const answer = await getWithToken(me, `Bearer ${login.accessToken}`)
    expect(answer.status).toBe(401)
    expect(answer.body.error).toBe('invalid_token')
  })

  it('answers 403 insufficient_scope, naming the scope that would do, for a token without agent or agent:read', async () => {
    const login = await server.register({ scope: 'agent:write' })
    const answer = await getWithToken(me, `Bearer ${login.accessToken}`)
    const description = 'this endpoint needs an access token with the scope agent or agent:read'
    expect(answer.status).toBe(403)
    expect(answer.challenge).toBe(`Bearer realm="countersign", error="insufficient_scope", error_description="${description}", scope="agent:read"`)
    expect(answer.body).toEqual({ error: 'insufficient_scope', error_description: description })
  })

  it('answers 403 for a token narrowed by refresh to a scope without read access', async () => {
    const login = await server.register({ scope: 'agent agent:write offline_access' })
    const narrowed = await server.refresh(login, 'agent:write')
    expect(narrowed.scope).toBe('agent:write')
    expect((await getWithToken(me, `Bearer ${narrowed.accessToken}`)).status).toBe(403)
  })
})
