import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { CountersignError, ErrorCodes, NetworkError } from '../../src/errors.js'
import { discover, discoveryUrl, processDiscoveryResponse } from '../../src/protocol/discovery.js'
import { jsonAnswer, textAnswer } from './answers.js'

const issuer = 'http://127.0.0.1:4000'
const countersignDocument = {
  issuer,
  device_authorization_endpoint: `${issuer}/oauth/device_authorization`,
  token_endpoint: `${issuer}/oauth/token`,
  revocation_endpoint: `${issuer}/oauth/revoke`,
  jwks_uri: `${issuer}/.well-known/jwks.json`,
  grant_types_supported: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
  token_endpoint_auth_methods_supported: ['none'],
  countersign_long_poll_supported: true,
  countersign_agent_registration_supported: true,
}

describe('discoveryUrl', () => {
  it('puts the RFC 8414 segment before the issuer path and appends the OpenID one', () => {
    expect(discoveryUrl('https://id.example/tenant/').href).toBe('https://id.example/.well-known/oauth-authorization-server/tenant')
    expect(discoveryUrl('https://id.example/tenant', 'openid-configuration').href).toBe('https://id.example/tenant/.well-known/openid-configuration')
    expect(discoveryUrl(issuer).href).toBe('http://127.0.0.1:4000/.well-known/oauth-authorization-server')
  })

  it('refuses an issuer that is not an http(s) URL', () => {
    expect(() => discoveryUrl('ftp://x')).toThrow(new TypeError('issuer must be an http(s) URL'))
    expect(() => discoveryUrl('http://x/?a=1')).toThrow(new TypeError('issuer must have no query or fragment'))
  })
})

describe('processDiscoveryResponse', () => {
  it('reads the endpoints and the countersign extensions', async () => {
    await expect(processDiscoveryResponse(jsonAnswer(200, countersignDocument), `${issuer}/`)).resolves.toEqual({
      issuer,
      deviceAuthorizationEndpoint: `${issuer}/oauth/device_authorization`,
      tokenEndpoint: `${issuer}/oauth/token`,
      revocationEndpoint: `${issuer}/oauth/revoke`,
      jwksUri: `${issuer}/.well-known/jwks.json`,
      countersign: true,
      longPollSupported: true,
      agentRegistrationSupported: true,
    })
  })

  it('treats a document without countersign fields as a plain RFC 8628 provider', async () => {
    const { countersign_long_poll_supported, countersign_agent_registration_supported, revocation_endpoint, ...plain } = countersignDocument
    await expect(processDiscoveryResponse(jsonAnswer(200, plain), issuer)).resolves.toMatchObject({
      countersign: false,
      longPollSupported: false,
      agentRegistrationSupported: false,
      revocationEndpoint: null,
    })
  })

  it('refuses a document for another issuer', async () => {
    const error = await processDiscoveryResponse(jsonAnswer(200, { ...countersignDocument, issuer: 'https://evil.example' }), issuer).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE, status: 200 })
    expect((error as Error).message).toBe('the discovery document answered 200 for issuer "https://evil.example", not "http://127.0.0.1:4000/" as asked')
  })

  it('says so when the server does not offer the device grant', async () => {
    const { device_authorization_endpoint, ...noDevice } = countersignDocument
    const error = await processDiscoveryResponse(jsonAnswer(200, noDevice), issuer).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE })
    expect((error as Error).message).toBe(
      'the server at http://127.0.0.1:4000/ does not offer the device authorization grant (no "device_authorization_endpoint" in its metadata)',
    )
  })

  it('names a missing token endpoint, and rejects malformed or non-JSON documents', async () => {
    const { token_endpoint, ...noToken } = countersignDocument
    await expect(processDiscoveryResponse(jsonAnswer(200, noToken), issuer)).rejects.toThrow('the discovery document answered 200 without "token_endpoint"')
    await expect(processDiscoveryResponse(textAnswer(200, '{"issuer":'), issuer)).rejects.toMatchObject({ code: ErrorCodes.INVALID_RESPONSE })
    await expect(processDiscoveryResponse(textAnswer(200, '<html/>', 'text/html'), issuer)).rejects.toMatchObject({ code: ErrorCodes.INVALID_RESPONSE })
  })

  it('treats a 503 as NetworkError', async () => {
    await expect(processDiscoveryResponse(textAnswer(503, 'busy', 'text/plain'), issuer)).rejects.toBeInstanceOf(NetworkError)
  })
})

describe('discover', () => {
  let server: Server | undefined
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
    server = undefined
  })

  async function serve(routes: Record<string, [number, unknown]>): Promise<{ base: string; hits: string[] }> {
    const hits: string[] = []
    server = createServer((req, res) => {
      hits.push(req.url ?? '')
      const route = routes[req.url ?? '']
      const [status, body] = route ?? [404, { error: 'not_found' }]
      const text = JSON.stringify(body).replaceAll('BASE', base)
      res.writeHead(status, { 'content-type': 'application/json' }).end(text)
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`
    return { base, hits }
  }

  const documentAt = (base: string) => JSON.parse(JSON.stringify(countersignDocument).replaceAll(issuer, base)) as typeof countersignDocument

  it('uses the RFC 8414 document when the server has one', async () => {
    const { base, hits } = await serve({ '/.well-known/oauth-authorization-server': [200, documentAt('BASE')] })
    await expect(discover(base)).resolves.toMatchObject({ issuer: base, longPollSupported: true })
    expect(hits).toEqual(['/.well-known/oauth-authorization-server'])
  })

  it('falls back to openid-configuration when the RFC 8414 document is absent', async () => {
    const { countersign_long_poll_supported, countersign_agent_registration_supported, ...plain } = documentAt('BASE')
    const { base, hits } = await serve({ '/.well-known/openid-configuration': [200, plain] })
    await expect(discover(base)).resolves.toMatchObject({ issuer: base, countersign: false })
    expect(hits).toEqual(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'])
  })

  it('does not fall back on a 5xx: that is a transient NetworkError', async () => {
    const { base, hits } = await serve({ '/.well-known/oauth-authorization-server': [503, { error: 'busy' }] })
    await expect(discover(base)).rejects.toMatchObject({ name: 'NetworkError', code: ErrorCodes.NETWORK_ERROR, status: 503 })
    expect(hits).toHaveLength(1)
  })

  it('names both places when neither document exists', async () => {
    const { base } = await serve({})
    const error = await discover(base).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE, status: 404 })
    expect((error as Error).message).toBe(
      `no discovery document at ${base}/: /.well-known/oauth-authorization-server answered 404 and /.well-known/openid-configuration answered 404`,
    )
  })
})
