/**
 * The agent runtime against a plain RFC 8628 provider (oidc-provider, which
 * knows nothing of countersign's extensions): a device login, a refresh and
 * a revocation, with no extension parameter or header sent.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuthManager } from '../../src/index.js'
import type { DeviceAuthorization } from '../../src/protocol/index.js'
import { approveAsHuman } from '../protocol/oidc-human.js'

type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => { callback(): (req: unknown, res: unknown) => void }

let server: Server
let issuer: string
const seen: Array<{ path: string; headers: IncomingMessage['headers']; body: string }> = []

beforeAll(async () => {
  const moduleName = 'oidc-provider'
  const { default: Provider } = (await import(moduleName)) as { default: ProviderConstructor }
  server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'countersign-agent', token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'], response_types: [], redirect_uris: [] }],
    features: { deviceFlow: { enabled: true }, revocation: { enabled: true }, devInteractions: { enabled: true } },
    scopes: ['openid', 'offline_access'],
    cookies: { keys: ['countersign-test-cookie-key'] },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
  })
  const handle = provider.callback()
  server.on('request', (req: IncomingMessage, res) => {
    if (req.url?.startsWith('/token') || req.url?.startsWith('/device/auth') || req.url?.startsWith('/token/revocation')) {
      // Look at what the agent sends without consuming it: the provider reads the same stream.
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => seen.push({ path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }))
    }
    handle(req, res)
  })
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe('AuthManager against a plain RFC 8628 provider (oidc-provider)', () => {
  it('signs in whoever approves a plain device login, refreshes and revokes, sending no extension', async () => {
    const auth = new AuthManager(issuer)
    try {
      const handle = await auth.login({ scope: 'openid offline_access' })
      expect(handle.agentId).toBeNull()
      const waiting = handle.waitForApproval({ intervalMs: 500 })
      await approveAsHuman({ userCode: handle.userCode, verificationUri: handle.verificationUri, verificationUriComplete: handle.approvalUrl } as DeviceAuthorization, 'plain-user')
      await waiting
      const first = await auth.tokenProvider()
      expect(auth.state).toBe('authenticated')

      await auth.forceRefresh()
      expect(await auth.tokenProvider()).not.toBe(first)
      await auth.revoke()
      expect(auth.state).toBe('signedOut')
      await expect(auth.tokenProvider()).rejects.toMatchObject({ name: 'TokenRefreshError', code: 'not_authenticated' })

      const bodies = seen.map((request) => request.body).join('&')
      expect(bodies).not.toMatch(/agent_name|agent_id|username=|wait=/)
      expect(seen.some((request) => 'idempotency-key' in request.headers)).toBe(false)
      expect(seen.filter((request) => request.body.includes('grant_type=refresh_token'))).toHaveLength(1)
      expect(seen.filter((request) => request.path.startsWith('/token/revocation'))).not.toHaveLength(0)
    } finally {
      auth.dispose()
    }
  })
})
