import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentMe, approvedLogin, expectFreshAccess, expectOAuthError, expectSamePair, jwtClaims, pollToken, refreshGrant, startApproval, startProtocolServer, type ProtocolServer } from './protocol-support.js'

const REVOKED_OR_UNKNOWN = /^the refresh token is unknown, expired or revoked; a new login is needed$/
const REUSED = /^the refresh token was already used; every token of this login has been revoked$/

describe('protocol §4.1: refresh with rotation', () => {
  let server: ProtocolServer
  let url: string

  beforeAll(async () => {
    server = await startProtocolServer()
    url = server.url
  })
  afterAll(() => server.dispose())

  it('returns a new refresh token and a new access token of the same login on every refresh', async () => {
    const login = await approvedLogin(server, { scope: 'agent offline_access' })
    const seen = new Set([login.refresh_token])
    let current = login
    for (let i = 0; i < 3; i++) {
      server.clock.advance(60_000)
      const answer = await refreshGrant(url, current.refresh_token)
      expect(answer.status).toBe(200)
      expect(answer.headers.get('cache-control')).toBe('no-store')
      expect(Object.keys(answer.body).sort()).toEqual(['access_token', 'agent_id', 'expires_in', 'refresh_token', 'refresh_token_expires_in', 'scope', 'token_type'])
      expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, refresh_token_expires_in: 2_592_000, scope: 'agent offline_access', agent_id: login.agent_id })
      expect(seen.has(answer.body.refresh_token)).toBe(false)
      seen.add(answer.body.refresh_token)
      const claims = jwtClaims(answer.body.access_token)
      expect(claims.sid).toBe(jwtClaims(login.access_token).sid)
      expect(claims.jti).not.toBe(jwtClaims(current.access_token).jti)
      expect(claims.iat).toBe(server.clock.now() / 1000)
      current = answer.body
    }
    expect((await agentMe(url, current.access_token)).status).toBe(200)
  })

  it('answers a rotated token presented again within the grace period with the SAME successor pair', async () => {
    const login = await approvedLogin(server)
    const successor = (await refreshGrant(url, login.refresh_token)).body
    server.clock.advance(29_000)
    const repeat = await refreshGrant(url, login.refresh_token)
    expectSamePair(repeat, successor)
    expect(repeat.body.agent_id).toBe(login.agent_id)
    // Both copies of the successor stay usable: the repeat did not rotate anything.
    expect((await agentMe(url, successor.access_token)).status).toBe(200)
    expect((await refreshGrant(url, successor.refresh_token)).status).toBe(200)
  })

  it('gives two refreshes of the same token at the same moment the same pair', async () => {
    const login = await approvedLogin(server)
    const [a, b] = await Promise.all([refreshGrant(url, login.refresh_token), refreshGrant(url, login.refresh_token)])
    expect(a.status).toBe(200)
    expect(b.status).toBe(200)
    expect(b.body.refresh_token).toBe(a.body.refresh_token)
    expect(b.body.access_token).toBe(a.body.access_token)
  })

  it('treats a rotated token presented after the grace period as reuse: invalid_grant, and the whole login is revoked', async () => {
    const login = await approvedLogin(server)
    const successor = (await refreshGrant(url, login.refresh_token)).body
    const next = (await refreshGrant(url, successor.refresh_token)).body
    server.clock.advance(31_000)
    expectOAuthError(await refreshGrant(url, login.refresh_token), 400, 'invalid_grant', REUSED)
    // Every token of the family is dead now, also those issued after the reused one.
    expectOAuthError(await refreshGrant(url, next.refresh_token), 400, 'invalid_grant', REVOKED_OR_UNKNOWN)
    expect((await agentMe(url, next.access_token)).status).toBe(401)
    expect((await agentMe(url, successor.access_token)).status).toBe(401)
    // And it stays so: presenting the reused token again is no way back in.
    expectOAuthError(await refreshGrant(url, login.refresh_token), 400, 'invalid_grant', REVOKED_OR_UNKNOWN)
  })

  it('leaves other logins of the same agent alone when one family is revoked for reuse', async () => {
    const first = await approvedLogin(server, { agent_name: 'Two Sessions' })
    const login = await startApproval(url, { agent_id: first.agent_id })
    await server.approve(login.body.user_code)
    const second = (await pollToken(url, login.body.device_code)).body
    const successor = (await refreshGrant(url, first.refresh_token)).body
    await refreshGrant(url, successor.refresh_token)
    server.clock.advance(31_000)
    expectOAuthError(await refreshGrant(url, first.refresh_token), 400, 'invalid_grant', REUSED)
    expect((await agentMe(url, second.access_token)).status).toBe(200)
    expect((await refreshGrant(url, second.refresh_token)).status).toBe(200)
  })

  it('answers a rotated token presented after the grace period with the same successor while that successor was never used, up to the redelivery window (600 s)', async () => {
    const login = await approvedLogin(server)
    const successor = (await refreshGrant(url, login.refresh_token)).body
    // The answer was lost: the agent retries long after the grace period.
    server.clock.advance(599_000)
    const repeat = await refreshGrant(url, login.refresh_token)
    expectSamePair(repeat, successor)
    // expires_in says what is left of the access token, not its full lifetime.
    expect(repeat.body.expires_in).toBe(3600 - 599)
    expect(repeat.body.refresh_token_expires_in).toBe(2_592_000 - 599)
    // The login goes on with it.
    const next = await refreshGrant(url, repeat.body.refresh_token)
    expect(next.status).toBe(200)
    expect((await agentMe(url, next.body.access_token)).status).toBe(200)
  })

  it('hands a repeat past half the access lifetime a fresh access token of the same login with the same refresh token, and keeps it for the next repeat', async () => {
    const short = await startProtocolServer({ accessTtl: 60 })
    try {
      const login = await approvedLogin(short)
      const successor = (await refreshGrant(short.url, login.refresh_token)).body
      short.clock.advance(29_000)
      expect((await refreshGrant(short.url, login.refresh_token)).body.access_token).toBe(successor.access_token)
      short.clock.advance(61_000)
      const repeat = await refreshGrant(short.url, login.refresh_token)
      await expectFreshAccess(short.url, repeat, successor, 60)
      expect((await refreshGrant(short.url, login.refresh_token)).body.access_token).toBe(repeat.body.access_token)
    } finally {
      await short.dispose()
    }
  })

  it('treats a rotated token presented after the redelivery window as reuse even though its successor was never used', async () => {
    const login = await approvedLogin(server)
    const successor = (await refreshGrant(url, login.refresh_token)).body
    server.clock.advance(601_000)
    expectOAuthError(await refreshGrant(url, login.refresh_token), 400, 'invalid_grant', REUSED)
    expectOAuthError(await refreshGrant(url, successor.refresh_token), 400, 'invalid_grant', REVOKED_OR_UNKNOWN)
  })

  it('treats a rotated token as reuse past the grace period as soon as its successor was used, well inside the redelivery window', async () => {
    const login = await approvedLogin(server)
    const successor = (await refreshGrant(url, login.refresh_token)).body
    server.clock.advance(31_000)
    // Still unused: redelivered.
    expect((await refreshGrant(url, login.refresh_token)).body.refresh_token).toBe(successor.refresh_token)
    // Used once: from then on a repeat of the rotated token is a stolen copy.
    const next = (await refreshGrant(url, successor.refresh_token)).body
    expectOAuthError(await refreshGrant(url, login.refresh_token), 400, 'invalid_grant', REUSED)
    expect((await agentMe(url, next.access_token)).status).toBe(401)
  })

  it('honours shorter refreshGrace and redeliveryWindow settings', async () => {
    const short = await startProtocolServer({ refreshGrace: 2, redeliveryWindow: 5 })
    try {
      // refreshGrace: a used successor is given again for 2 s.
      const login = await approvedLogin(short)
      const successor = (await refreshGrant(short.url, login.refresh_token)).body
      await refreshGrant(short.url, successor.refresh_token)
      short.clock.advance(2000)
      expect((await refreshGrant(short.url, login.refresh_token)).body.refresh_token).toBe(successor.refresh_token)
      short.clock.advance(1000)
      expectOAuthError(await refreshGrant(short.url, login.refresh_token), 400, 'invalid_grant', REUSED)
      // redeliveryWindow: an unused successor is given again for 5 s.
      const other = await approvedLogin(short)
      const unused = (await refreshGrant(short.url, other.refresh_token)).body
      short.clock.advance(5000)
      expect((await refreshGrant(short.url, other.refresh_token)).body.refresh_token).toBe(unused.refresh_token)
      short.clock.advance(1000)
      expectOAuthError(await refreshGrant(short.url, other.refresh_token), 400, 'invalid_grant', REUSED)
    } finally {
      await short.dispose()
    }
  })

  it('answers invalid_grant to an expired refresh token', async () => {
    const short = await startProtocolServer({ refreshTtl: 600 })
    try {
      const login = await approvedLogin(short)
      expect(login.refresh_token_expires_in).toBe(600)
      short.clock.advance(600_000)
      expectOAuthError(await refreshGrant(short.url, login.refresh_token), 400, 'invalid_grant', REVOKED_OR_UNKNOWN)
    } finally {
      await short.dispose()
    }
  })

  it('narrows the scope of one refresh to a subset of the granted scope', async () => {
    const login = await approvedLogin(server, { scope: 'agent agent:read offline_access' })
    const narrowed = await refreshGrant(url, login.refresh_token, { scope: 'agent:read' })
    expect(narrowed.status).toBe(200)
    expect(narrowed.body.scope).toBe('agent:read')
    expect(jwtClaims(narrowed.body.access_token).scope).toBe('agent:read')
    // Without a scope the next refresh has the scope granted at login (RFC 6749 §6).
    const full = await refreshGrant(url, narrowed.body.refresh_token)
    expect(full.body.scope).toBe('agent agent:read offline_access')
  })

  it('answers invalid_scope to a scope beyond the granted one, and the token stays usable', async () => {
    const login = await approvedLogin(server, { scope: 'agent:read' })
    for (const scope of ['agent:write', 'agent:read agent', 'no-such-scope']) {
      expectOAuthError(await refreshGrant(url, login.refresh_token, { scope }), 400, 'invalid_scope', /^the requested scope is not within the scope granted at login$/)
    }
    expect((await refreshGrant(url, login.refresh_token)).status).toBe(200)
  })

  it('answers invalid_grant to an unknown refresh token', async () => {
    expectOAuthError(await refreshGrant(url, 'rt_made-up-token'), 400, 'invalid_grant', REVOKED_OR_UNKNOWN)
  })

  it('answers invalid_grant once the owner revoked the agent', async () => {
    const login = await approvedLogin(server)
    await (await server.owner()).revokeAgent(login.agent_id)
    expectOAuthError(await refreshGrant(url, login.refresh_token), 400, 'invalid_grant', REVOKED_OR_UNKNOWN)
  })

  it('answers invalid_grant to a refresh token presented by another client', async () => {
    const other = await startProtocolServer({ clientIds: ['countersign-agent', 'second-client'] })
    try {
      const login = await approvedLogin(other)
      expectOAuthError(await refreshGrant(other.url, login.refresh_token, { client_id: 'second-client' }), 400, 'invalid_grant', /^the refresh token was issued to another client$/)
      expect((await refreshGrant(other.url, login.refresh_token)).status).toBe(200)
    } finally {
      await other.dispose()
    }
  })

  it('answers 400 invalid_request when refresh_token is missing', async () => {
    expectOAuthError(await refreshGrant(url, ''), 400, 'invalid_request', /^the parameter refresh_token is required$/)
  })
})
