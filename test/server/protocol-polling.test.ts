import { createRemoteJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  expectOAuthError,
  jwtClaims,
  jwtHeader,
  pollToken,
  startProtocolServer,
  startRegistration,
  type ProtocolServer,
} from './protocol-support.js'

const DAY_MS = 24 * 3600_000

describe('protocol §3.1: polling the token endpoint', () => {
  let server: ProtocolServer
  let url: string

  beforeAll(async () => {
    server = await startProtocolServer()
    url = server.url
  })
  afterAll(() => server.dispose())

  it('answers authorization_pending while nobody has decided, at the interval or slower', async () => {
    const started = await startRegistration(url)
    expectOAuthError(await pollToken(url, started.device_code), 400, 'authorization_pending', /^the request has not been decided yet$/)
    server.clock.advance(3000)
    expectOAuthError(await pollToken(url, started.device_code), 400, 'authorization_pending', /not been decided/)
    server.clock.advance(60_000)
    const answer = await pollToken(url, started.device_code)
    expectOAuthError(answer, 400, 'authorization_pending', /not been decided/)
    expect(answer.headers.get('cache-control')).toBe('no-store')
  })

  it('answers slow_down to a poll faster than the interval, and the interval grows by 5 s for good', async () => {
    const started = await startRegistration(url)
    expect(started.interval).toBe(3)
    await pollToken(url, started.device_code)
    server.clock.advance(1000)
    expectOAuthError(await pollToken(url, started.device_code), 400, 'slow_down', /^polled faster than the interval; poll at most every 8 seconds$/)
    // 3 s was enough before; now it is too fast.
    server.clock.advance(3000)
    expectOAuthError(await pollToken(url, started.device_code), 400, 'slow_down', /poll at most every 13 seconds$/)
    // At the grown interval the answers are pending again, poll after poll: the growth is kept.
    for (let i = 0; i < 3; i++) {
      server.clock.advance(13_000)
      expectOAuthError(await pollToken(url, started.device_code), 400, 'authorization_pending', /not been decided/)
    }
    server.clock.advance(8000)
    expectOAuthError(await pollToken(url, started.device_code), 400, 'slow_down', /poll at most every 18 seconds$/)
  })

  it('answers access_denied once the human denied, however often the client asks', async () => {
    const started = await startRegistration(url)
    await server.deny(started.user_code)
    expectOAuthError(await pollToken(url, started.device_code), 400, 'access_denied', /^the request was denied$/)
    expectOAuthError(await pollToken(url, started.device_code), 400, 'access_denied', /^the request was denied$/)
  })

  it('answers expired_token once the approval request outlived its lifetime', async () => {
    const started = await startRegistration(url)
    server.clock.advance(DAY_MS - 1000)
    expectOAuthError(await pollToken(url, started.device_code), 400, 'authorization_pending', /not been decided/)
    server.clock.advance(1000)
    expectOAuthError(await pollToken(url, started.device_code), 400, 'expired_token', /^the device code expired before the request was approved$/)
    // Too late to approve as well: the human is told, the client keeps hearing expired_token.
    const owner = await server.owner()
    const late = await owner.request('POST', `/api/approvals/${started.user_code}/approve`)
    expectOAuthError(late, 400, 'expired_token', /^this approval request has expired$/)
    expectOAuthError(await pollToken(url, started.device_code), 400, 'expired_token', /expired/)
  })

  it('honours a short approvalTtl setting', async () => {
    const short = await startProtocolServer({ approvalTtl: 5 })
    try {
      const started = await startRegistration(short.url)
      expect(started.expires_in).toBe(5)
      short.clock.advance(5000)
      expectOAuthError(await pollToken(short.url, started.device_code), 400, 'expired_token', /expired/)
    } finally {
      await short.dispose()
    }
  })

  it.each([
    ['an unknown device code', 'apr_AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a device code in no known format', 'not-a-device-code'],
  ])('answers invalid_grant for %s', async (_, deviceCode) => {
    expectOAuthError(await pollToken(url, deviceCode), 400, 'invalid_grant', /^the device code is unknown$/)
  })

  it('answers invalid_grant for a device code whose signature was altered', async () => {
    const started = await startRegistration(url)
    const last = started.device_code.at(-1) === 'A' ? 'B' : 'A'
    expectOAuthError(await pollToken(url, `${started.device_code.slice(0, -1)}${last}`), 400, 'invalid_grant', /^the device code is unknown$/)
  })

  it('answers invalid_grant for a device code that was already used, once the redelivery window is over', async () => {
    const started = await startRegistration(url)
    await server.approve(started.user_code)
    expect((await pollToken(url, started.device_code)).status).toBe(200)
    server.clock.advance(601_000)
    expectOAuthError(await pollToken(url, started.device_code), 400, 'invalid_grant', /^the device code was already exchanged$/)
  })

  it('answers the approval with a §4 token response: every field, with the default lifetimes', async () => {
    const started = await startRegistration(url, { scope: 'agent offline_access' })
    await server.approve(started.user_code)
    const answer = await pollToken(url, started.device_code)
    expect(answer.status).toBe(200)
    expect(answer.headers.get('cache-control')).toBe('no-store')
    const body = answer.body
    expect(Object.keys(body).sort()).toEqual(['access_token', 'agent_id', 'expires_in', 'refresh_token', 'refresh_token_expires_in', 'scope', 'token_type'])
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, refresh_token_expires_in: 2_592_000, scope: 'agent offline_access', agent_id: started.agent_id })
    expect(body.access_token.split('.')).toHaveLength(3)
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{32,}$/)
    expect(body.refresh_token).not.toContain('.')
  })

  it('signs the access token ES256 with a kid from the JWKS, with the claims of §4', async () => {
    const started = await startRegistration(url, { scope: 'agent:read offline_access' })
    await server.approve(started.user_code)
    const { access_token: accessToken } = (await pollToken(url, started.device_code)).body
    expect(jwtHeader(accessToken)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' })
    const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`))
    const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, {
      issuer: url,
      audience: 'countersign',
      algorithms: ['ES256'],
      currentDate: new Date(server.clock.now()),
    })
    const published = await (await fetch(`${url}/.well-known/jwks.json`)).json()
    expect(published.keys.map((key: { kid: string }) => key.kid)).toContain(protectedHeader.kid)
    const owner = await server.owner()
    expect(payload).toMatchObject({ iss: url, sub: started.agent_id, aud: 'countersign', scope: 'agent:read offline_access', owner: owner.ownerId })
    expect(payload.iat).toBe(server.clock.now() / 1000)
    expect(payload.exp).toBe(payload.iat! + 3600)
    expect(payload.jti).toEqual(expect.any(String))
    expect(payload.sid).toMatch(/^fam_/)
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'owner', 'scope', 'sid', 'sub'])
  })

  it('gives every token its own jti and every login its own sid', async () => {
    const claims = []
    for (let i = 0; i < 2; i++) {
      const started = await startRegistration(url)
      await server.approve(started.user_code)
      claims.push(jwtClaims((await pollToken(url, started.device_code)).body.access_token))
    }
    expect(claims[0]!.jti).not.toBe(claims[1]!.jti)
    expect(claims[0]!.sid).not.toBe(claims[1]!.sid)
  })

  it('honours the lifetime settings in the token response and the claims', async () => {
    const custom = await startProtocolServer({ accessTtl: 120, refreshTtl: 600, audience: 'reports-api' })
    try {
      const started = await startRegistration(custom.url)
      await custom.approve(started.user_code)
      const body = (await pollToken(custom.url, started.device_code)).body
      expect(body).toMatchObject({ expires_in: 120, refresh_token_expires_in: 600 })
      const claims = jwtClaims(body.access_token)
      expect(claims.exp - claims.iat).toBe(120)
      expect(claims.aud).toBe('reports-api')
    } finally {
      await custom.dispose()
    }
  })

  it('answers invalid_grant to a device code presented by another client', async () => {
    const other = await startProtocolServer({ clientIds: ['countersign-agent', 'second-client'] })
    try {
      const started = await startRegistration(other.url)
      const answer = await pollToken(other.url, started.device_code, { client_id: 'second-client' })
      expectOAuthError(answer, 400, 'invalid_grant', /^the device code was issued to another client$/)
    } finally {
      await other.dispose()
    }
  })

  it.each([
    ['grant_type is missing', { grant_type: '' }, 'invalid_request', /^the parameter grant_type is required$/],
    ['grant_type is unknown', { grant_type: 'password' }, 'unsupported_grant_type', /^grant_type must be the device code grant or refresh_token$/],
    ['device_code is missing', { device_code: '' }, 'invalid_request', /^the parameter device_code is required$/],
    ['client_id is unknown', { client_id: 'stranger' }, 'invalid_client', /^the client_id is not known to this server$/],
  ])('answers 400 when %s', async (_, extra, error, description) => {
    expectOAuthError(await pollToken(url, 'apr_x.y', extra), 400, error, description)
  })
})
