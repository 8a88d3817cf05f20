import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentMe, approvedLogin, expectOAuthError, refreshGrant, revokeToken, startProtocolServer, type ProtocolServer } from './protocol-support.js'

const REVOKED_OR_UNKNOWN = /^the refresh token is unknown, expired or revoked; a new login is needed$/

describe('protocol §4.2: revocation (RFC 7009)', () => {
  let server: ProtocolServer
  let url: string

  beforeAll(async () => {
    server = await startProtocolServer()
    url = server.url
  })
  afterAll(() => server.dispose())

  it('revokes an access token by itself: the refresh token and new access tokens keep working', async () => {
    const login = await approvedLogin(server)
    const answer = await revokeToken(url, { token: login.access_token, token_type_hint: 'access_token' })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({})
    expect((await agentMe(url, login.access_token)).status).toBe(401)
    const refreshed = await refreshGrant(url, login.refresh_token)
    expect(refreshed.status).toBe(200)
    expect((await agentMe(url, refreshed.body.access_token)).status).toBe(200)
  })

  it('revokes a refresh token with its whole family, access tokens included', async () => {
    const login = await approvedLogin(server)
    const successor = (await refreshGrant(url, login.refresh_token)).body
    expect((await revokeToken(url, { token: successor.refresh_token, token_type_hint: 'refresh_token' })).status).toBe(200)
    expectOAuthError(await refreshGrant(url, successor.refresh_token), 400, 'invalid_grant', REVOKED_OR_UNKNOWN)
    // The rotated token within its grace period gives nothing back either.
    expectOAuthError(await refreshGrant(url, login.refresh_token), 400, 'invalid_grant', REVOKED_OR_UNKNOWN)
    expect((await agentMe(url, successor.access_token)).status).toBe(401)
    expect((await agentMe(url, login.access_token)).status).toBe(401)
  })

  it('finds the token whatever the hint says, or without a hint', async () => {
    const a = await approvedLogin(server)
    expect((await revokeToken(url, { token: a.access_token, token_type_hint: 'refresh_token' })).status).toBe(200)
    expect((await agentMe(url, a.access_token)).status).toBe(401)
    expect((await refreshGrant(url, a.refresh_token)).status).toBe(200)

    const b = await approvedLogin(server)
    expect((await revokeToken(url, { token: b.refresh_token, token_type_hint: 'access_token' })).status).toBe(200)
    expectOAuthError(await refreshGrant(url, b.refresh_token), 400, 'invalid_grant', REVOKED_OR_UNKNOWN)

    const c = await approvedLogin(server)
    expect((await revokeToken(url, { token: c.refresh_token })).status).toBe(200)
    expect((await agentMe(url, c.access_token)).status).toBe(401)

    const d = await approvedLogin(server)
    expect((await revokeToken(url, { token: d.access_token, token_type_hint: 'something_else' })).status).toBe(200)
    expect((await agentMe(url, d.access_token)).status).toBe(401)
  })

  it('answers 200 for an unknown token, an already revoked one, and an expired access token', async () => {
    expect((await revokeToken(url, { token: 'never-issued' })).status).toBe(200)
    expect((await revokeToken(url, { token: 'eyJhbGciOiJFUzI1NiJ9.e30.c2lnbmF0dXJl', token_type_hint: 'access_token' })).status).toBe(200)
    const login = await approvedLogin(server)
    expect((await revokeToken(url, { token: login.refresh_token })).status).toBe(200)
    expect((await revokeToken(url, { token: login.refresh_token })).status).toBe(200)
    server.clock.advance(3601_000)
    expect((await revokeToken(url, { token: login.access_token })).status).toBe(200)
  })

  it('answers 400 invalid_request when the token parameter is missing', async () => {
    expectOAuthError(await revokeToken(url, {}), 400, 'invalid_request', /^the parameter token is required$/)
    expectOAuthError(await revokeToken(url, { token: '' }), 400, 'invalid_request', /^the parameter token is required$/)
  })

  it('answers 400 invalid_client for an unknown client_id and revokes nothing', async () => {
    const login = await approvedLogin(server)
    expectOAuthError(await revokeToken(url, { token: login.refresh_token, client_id: 'stranger' }), 400, 'invalid_client', /^the client_id is not known to this server$/)
    expect((await refreshGrant(url, login.refresh_token)).status).toBe(200)
  })

  it('does not let one client revoke the tokens of another', async () => {
    const other = await startProtocolServer({ clientIds: ['countersign-agent', 'second-client'] })
    try {
      const login = await approvedLogin(other)
      expect((await revokeToken(other.url, { token: login.refresh_token, client_id: 'second-client' })).status).toBe(200)
      expect((await revokeToken(other.url, { token: login.access_token, client_id: 'second-client' })).status).toBe(200)
      expect((await agentMe(other.url, login.access_token)).status).toBe(200)
      expect((await refreshGrant(other.url, login.refresh_token)).status).toBe(200)
    } finally {
      await other.dispose()
    }
  })
})
