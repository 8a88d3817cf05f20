/**
 * An unmodified standard RFC 8628 client, openid-client v6, against the
 * reference server: discovery, the device flow, a refresh and a revocation.
 * Plain http is allowed on loopback with its documented
 * `execute: [allowInsecureRequests]` option.
 */
import * as client from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID, agentMe, expectOAuthError, refreshGrant, startProtocolServer, type ProtocolServer } from './protocol-support.js'

describe('interop: openid-client completes the device flow against the reference server', () => {
  let server: ProtocolServer
  let config: client.Configuration

  beforeAll(async () => {
    // openid-client waits `interval` seconds before each poll; 1 s keeps the test short and is still a whole number as RFC 8628 asks.
    server = await startProtocolServer({ interval: 1 }, { realClock: true })
    config = await client.discovery(new URL(server.url), CLIENT_ID, undefined, client.None(), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    })
  })
  afterAll(() => server.dispose())

  it('reads the server metadata by RFC 8414 discovery', () => {
    const metadata = config.serverMetadata()
    expect(metadata.issuer).toBe(server.url)
    expect(metadata.device_authorization_endpoint).toBe(`${server.url}/oauth/device_authorization`)
    expect(metadata.token_endpoint).toBe(`${server.url}/oauth/token`)
    expect(metadata.revocation_endpoint).toBe(`${server.url}/oauth/revoke`)
  })

  it('gets tokens by polling until the owner approves, then refreshes and revokes', async () => {
    const authorization = await client.initiateDeviceAuthorization(config, { scope: 'agent offline_access', agent_name: 'Standard Client' })
    expect(authorization.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
    expect(authorization.verification_uri_complete).toBe(`${server.url}/device?user_code=${authorization.user_code}`)
    expect(authorization.interval).toBe(1)

    const polling = client.pollDeviceAuthorizationGrant(config, authorization)
    // The client's first poll comes after one interval; approving after it has polled at least once exercises authorization_pending.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await server.approve(authorization.user_code)
    const tokens = await polling
    expect(tokens.token_type).toBe('bearer')
    expect(tokens.scope).toBe('agent offline_access')
    expect(tokens.expiresIn()).toBeGreaterThan(3500)
    expect(typeof tokens.refresh_token).toBe('string')
    expect(tokens.agent_id).toBe(authorization.agent_id)
    expect((await agentMe(server.url, tokens.access_token)).body.name).toBe('Standard Client')

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!)
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token)
    expect(refreshed.access_token).not.toBe(tokens.access_token)
    expect((await agentMe(server.url, refreshed.access_token)).status).toBe(200)

    await client.tokenRevocation(config, refreshed.refresh_token!, { token_type_hint: 'refresh_token' })
    expect((await agentMe(server.url, refreshed.access_token)).status).toBe(401)
    expectOAuthError(await refreshGrant(server.url, refreshed.refresh_token!), 400, 'invalid_grant', /revoked/)
  })

  it('reports a denial as the access_denied error the standard defines', async () => {
    const authorization = await client.initiateDeviceAuthorization(config, { agent_name: 'Denied Client' })
    await server.deny(authorization.user_code)
    const error = await client.pollDeviceAuthorizationGrant(config, authorization).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(client.ResponseBodyError)
    expect((error as client.ResponseBodyError).error).toBe('access_denied')
    expect((error as client.ResponseBodyError).status).toBe(400)
  })

  it('reports a refused refresh as invalid_grant', async () => {
    const error = await client.refreshTokenGrant(config, 'rt_unknown').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(client.ResponseBodyError)
    expect((error as client.ResponseBodyError).error).toBe('invalid_grant')
  })
})
