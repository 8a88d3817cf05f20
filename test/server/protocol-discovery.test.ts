import type { AddressInfo } from 'node:net'
import { createLocalJWKSet } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEVICE_CODE_GRANT, startProtocolServer, type ProtocolServer } from './protocol-support.js'

describe('protocol §1: discovery', () => {
  let server: ProtocolServer

  beforeAll(async () => {
    server = await startProtocolServer()
  })
  afterAll(() => server.dispose())

  it('names every endpoint under the issuer, which is the base URL the server listens on', async () => {
    const response = await fetch(`${server.url}/.well-known/oauth-authorization-server`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    const metadata = await response.json()
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(metadata).toMatchObject({
      issuer: server.url,
      device_authorization_endpoint: `${server.url}/oauth/device_authorization`,
      token_endpoint: `${server.url}/oauth/token`,
      revocation_endpoint: `${server.url}/oauth/revoke`,
      jwks_uri: `${server.url}/.well-known/jwks.json`,
    })
  })

  it('lists the device-code and refresh grants, public clients, and both countersign extensions', async () => {
    const metadata = await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()
    expect([...metadata.grant_types_supported].sort()).toEqual(['refresh_token', DEVICE_CODE_GRANT].sort())
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(['none'])
    expect(metadata.countersign_long_poll_supported).toBe(true)
    expect(metadata.countersign_agent_registration_supported).toBe(true)
  })

  it('advertises how long a repeat gets the same pair: the refresh grace and the redelivery window, in seconds', async () => {
    const metadata = await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()
    expect(metadata.countersign_refresh_grace).toBe(30)
    expect(metadata.countersign_redelivery_window).toBe(600)
    const other = await startProtocolServer({ refreshGrace: 5, redeliveryWindow: 120 })
    try {
      const configured = await (await fetch(`${other.url}/.well-known/oauth-authorization-server`)).json()
      expect([configured.countersign_refresh_grace, configured.countersign_redelivery_window]).toEqual([5, 120])
    } finally {
      await other.dispose()
    }
  })

  it('uses the configured issuer in place of the listening address', async () => {
    const other = await startProtocolServer({ issuer: 'https://approvals.example.test/' })
    try {
      const { port } = other.test.server.app.server.address() as AddressInfo
      const metadata = await (await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server`)).json()
      expect(metadata.issuer).toBe('https://approvals.example.test')
      expect(metadata.token_endpoint).toBe('https://approvals.example.test/oauth/token')
    } finally {
      await other.dispose()
    }
  })

  it.each([
    ['0.0.0.0', 'http://127.0.0.1'],
    ['::', 'http://[::1]'],
  ])('names a server listening on every interface (%s) by the loopback address of that family, which reaches it', async (host, base) => {
    const wildcard = await startProtocolServer({ host })
    try {
      const { port } = wildcard.test.server.app.server.address() as AddressInfo
      expect(wildcard.url).toBe(`${base}:${port}`)
      expect(wildcard.test.server.listenUrl).toBe(wildcard.url)
      const metadata = await (await fetch(`${wildcard.url}/.well-known/oauth-authorization-server`)).json()
      expect(metadata.issuer).toBe(wildcard.url)
      expect(metadata.token_endpoint).toBe(`${wildcard.url}/oauth/token`)
    } finally {
      await wildcard.dispose()
    }
  })

  it('publishes one ES256 signing key with a kid and no private part at jwks_uri', async () => {
    const response = await fetch(`${server.url}/.well-known/jwks.json`)
    expect(response.status).toBe(200)
    const jwks = await response.json()
    expect(jwks.keys).toHaveLength(1)
    const [key] = jwks.keys
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    expect(typeof key.kid).toBe('string')
    expect(key.kid.length).toBeGreaterThan(10)
    expect(key).not.toHaveProperty('d')
    // jose accepts it as a key set: the shape is a real JWKS, not only similar to one.
    expect(() => createLocalJWKSet(jwks)).not.toThrow()
  })
})
