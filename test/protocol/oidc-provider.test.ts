/**
 * The protocol driver against oidc-provider: a standards-compliant RFC 8628
 * peer that knows nothing of countersign's extensions. It runs in this
 * process on 127.0.0.1, port 0; its dev interactions (the stand-in for a
 * human) are driven with fetch and a small cookie jar.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCodes, TokenRefreshError } from '../../src/errors.js'
import {
  deviceAuthorizationRequest,
  deviceCodeGrantRequest,
  discover,
  discoveryRequest,
  processDeviceAuthorizationResponse,
  processDeviceCodeResponse,
  processDiscoveryResponse,
  processRefreshTokenResponse,
  processRevocationResponse,
  refreshTokenGrantRequest,
  revocationRequest,
  type DeviceAuthorization,
  type ServerMetadata,
} from '../../src/protocol/index.js'
import { approveAsHuman, denyAsHuman } from './oidc-human.js'

const CLIENT_ID = 'countersign-agent'

interface ProviderInstance {
  callback(): (req: unknown, res: unknown) => void
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance

let server: Server
let issuer: string
let provider: ProviderInstance
let metadata: ServerMetadata
let onlyOpenId = false

beforeAll(async () => {
  // A non-literal specifier: the package ships no types, and we need only the constructor.
  const moduleName = 'oidc-provider'
  const { default: Provider } = (await import(moduleName)) as { default: ProviderConstructor }
  server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    features: { deviceFlow: { enabled: true }, revocation: { enabled: true }, devInteractions: { enabled: true } },
    scopes: ['openid', 'offline_access'],
    cookies: { keys: ['countersign-test-cookie-key'] },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
  })
  const handle = provider.callback()
  server.on('request', (req, res) => {
    // Switchable: a provider that publishes only OpenID Discovery, as many do.
    if (onlyOpenId && req.url === '/.well-known/oauth-authorization-server') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}')
      return
    }
    handle(req, res)
  })
  metadata = await discover(issuer)
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

async function startApproval(scope = 'openid'): Promise<DeviceAuthorization> {
  const response = await deviceAuthorizationRequest(
    metadata,
    { clientId: CLIENT_ID, scope, agent: { intent: 'register', name: 'Interop Agent' }, idempotencyKey: 'k-1' },
  )
  return processDeviceAuthorizationResponse(response, { now: Date.now() })
}

const poll = async (deviceCode: string) =>
  processDeviceCodeResponse(await deviceCodeGrantRequest(metadata, { deviceCode, clientId: CLIENT_ID, waitSeconds: 5 }), { now: Date.now() })

describe('against oidc-provider, a plain RFC 8628 server', () => {
  it('discovers it as a plain provider with device and revocation endpoints', () => {
    expect(metadata).toEqual({
      issuer,
      deviceAuthorizationEndpoint: `${issuer}/device/auth`,
      tokenEndpoint: `${issuer}/token`,
      revocationEndpoint: `${issuer}/token/revocation`,
      jwksUri: `${issuer}/jwks`,
      countersign: false,
      longPollSupported: false,
      agentRegistrationSupported: false,
    })
  })

  it('discovers it through openid-configuration when the RFC 8414 document is absent', async () => {
    onlyOpenId = true
    try {
      await expect(discover(issuer)).resolves.toEqual(metadata)
      const direct = await processDiscoveryResponse(await discoveryRequest(issuer, 'openid-configuration'), issuer)
      expect(direct).toEqual(metadata)
    } finally {
      onlyOpenId = false
    }
  })

  it('starts an approval without sending countersign extensions, and polling answers pending', async () => {
    const approval = await startApproval()
    expect(approval).toMatchObject({ verificationUri: `${issuer}/device`, agentId: null, intervalMs: null })
    expect(approval.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/)
    expect(approval.expiresAt).toBeGreaterThan(Date.now())
    await expect(poll(approval.deviceCode)).resolves.toEqual({ kind: 'pending' })
  })

  it('reads a denied approval as denied', async () => {
    const approval = await startApproval()
    await denyAsHuman(approval)
    await expect(poll(approval.deviceCode)).resolves.toMatchObject({ kind: 'denied' })
  })

  it('completes the flow, refreshes with rotation, and revokes the refresh token', async () => {
    const approval = await startApproval('openid offline_access')
    await approveAsHuman(approval, 'alice')
    const first = await poll(approval.deviceCode)
    if (first.kind !== 'tokens') throw new Error(`expected tokens, got ${first.kind}`)
    expect(first.tokens.refreshToken).toEqual(expect.any(String))
    expect(first.tokens.accessExpiresAt).toBeGreaterThan(Date.now())

    const refreshed = await processRefreshTokenResponse(
      await refreshTokenGrantRequest(metadata, { refreshToken: first.tokens.refreshToken!, clientId: CLIENT_ID }),
      { now: Date.now() },
    )
    expect(refreshed.accessToken).not.toBe(first.tokens.accessToken)
    expect(refreshed.refreshToken).not.toBe(first.tokens.refreshToken)

    await processRevocationResponse(
      await revocationRequest(metadata, { token: refreshed.refreshToken!, tokenTypeHint: 'refresh_token', clientId: CLIENT_ID }),
    )
    const error = await processRefreshTokenResponse(
      await refreshTokenGrantRequest(metadata, { refreshToken: refreshed.refreshToken!, clientId: CLIENT_ID }),
      { now: Date.now() },
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TokenRefreshError)
    expect(error).toMatchObject({ code: ErrorCodes.TOKEN_REFRESH_FAILED, status: 400, oauthError: 'invalid_grant' })

    // A used device code is spent (oidc-provider also revokes what it issued, so this comes last).
    await expect(poll(approval.deviceCode)).resolves.toMatchObject({ kind: 'invalidGrant' })
  })

  it('answers 200 to revoking an unknown token', async () => {
    await expect(
      processRevocationResponse(await revocationRequest(metadata, { token: 'not-a-token', clientId: CLIENT_ID })),
    ).resolves.toBeUndefined()
  })
})
