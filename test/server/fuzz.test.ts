/**
 * Protocol §7, property-based: at least 1,000 malformed requests to each
 * endpoint. No answer is a 5xx; every error answer has a documented status
 * and the `{ error, error_description }` shape; the server is healthy after.
 * Most requests go through `app.inject()` (the socket adds nothing to input
 * checking); a smaller set goes over real HTTP.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MARKUP, consoleRequest, oauthRequest, ownerRequest, wellKnownRequest, type BadRequest, type ConsolePage, type KnownState, type OwnerCredentials } from './fuzz-arbitraries.js'
import { approvedLogin, pollToken, refreshGrant, revokeToken, startProtocolServer, startRegistration, type ProtocolServer } from './protocol-support.js'

const RUNS = 1000
const HTTP_RUNS = 100
/** Every status protocol.md names for a refusal, and 431 for a request line and headers over 16 KiB (README, limits). */
const DOCUMENTED_STATUSES = [400, 401, 403, 404, 409, 413, 422, 429, 431]
const OAUTH_PATHS = ['/oauth/device_authorization', '/oauth/token', '/oauth/revoke']
const CONSOLE_PAGES: ConsolePage[] = ['/', '/device', '/agents']

interface Received {
  status: number
  headers: Record<string, string | string[] | number | undefined> | Headers
  text: string
}

function header(received: Received, name: string): string | null {
  const { headers } = received
  if (headers instanceof Headers) return headers.get(name)
  const value = headers[name]
  return value === undefined ? null : String(value)
}

/** The property every answer keeps. Returns a description of the request for the failure message. */
function expectDocumented(request: BadRequest, received: Received): void {
  const where = `${request.method} ${request.url.slice(0, 120)}`
  expect(received.status, where).toBeLessThan(500)
  if (received.status < 400) return
  expect(DOCUMENTED_STATUSES, `${where} answered ${received.status}`).toContain(received.status)
  if (received.status === 429) expect(Number(header(received, 'retry-after')), where).toBeGreaterThan(0)
  if (request.method === 'HEAD') return
  expect(header(received, 'content-type'), where).toMatch(/^application\/json/)
  const body = JSON.parse(received.text)
  expect(Object.keys(body).sort(), where).toEqual(['error', 'error_description'])
  expect(body.error, where).toMatch(/^[a-z_]+$/)
  expect(typeof body.error_description, where).toBe('string')
  expect(body.error_description.length, where).toBeGreaterThan(0)
}

/** A console page's answer: HTML that echoes no markup, a redirect that stays on this server, or an answer expectDocumented accepts. */
function expectConsoleAnswer(request: BadRequest, received: Received): void {
  const where = `${request.method} ${request.url.slice(0, 120)}`
  expect(received.status, where).toBeLessThan(500)
  if (received.status >= 300 && received.status < 400) {
    expect(header(received, 'location'), where).toMatch(/^\/(?![/\\])/)
    return
  }
  if (!/^text\/html/.test(header(received, 'content-type') ?? '')) return expectDocumented(request, received)
  expect([200, ...DOCUMENTED_STATUSES], where).toContain(received.status)
  if (received.status === 429) expect(Number(header(received, 'retry-after')), where).toBeGreaterThan(0)
  expect(received.text, where).not.toContain(MARKUP.slice(2))
}

/** An answer saying the fuzzing owner's account used its budget of wrong user codes (a fixed one, whatever the address). */
function accountLimited(received: Received): boolean {
  return received.status === 429 && /for this account|with your account/.test(received.text)
}

describe('bad input to every endpoint (property-based)', () => {
  let server: ProtocolServer
  let discovery: unknown
  let known: KnownState

  beforeAll(async () => {
    // Approvals stay open for the whole run, however often the clock is moved past the limit on wrong user codes (see check()).
    server = await startProtocolServer({ rateLimit: 1_000_000, approvalTtl: 30 * 24 * 3600 })
    discovery = await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()
    // Real device codes, tokens, agents and user codes, so that mutated requests land near real state.
    const bystander = await approvedLogin(server, { agent_name: 'Fuzz Bystander', agent_username: 'fuzz-bystander', scope: 'agent offline_access' })
    const other = await approvedLogin(server, { agent_name: 'Fuzz Other' })
    const approved = await startRegistration(server.url, { agent_name: 'Approved Unexchanged' })
    await server.approve(approved.user_code)
    const denied = await startRegistration(server.url, { agent_name: 'Denied One' })
    await server.deny(denied.user_code)
    const exchanged = await startRegistration(server.url, { agent_name: 'Exchanged One' })
    await server.approve(exchanged.user_code)
    await pollToken(server.url, exchanged.device_code)
    const pending = await startRegistration(server.url, { agent_name: 'Pending One', agent_username: 'pending-one' })
    known = {
      decidedDeviceCodes: [approved.device_code, denied.device_code, exchanged.device_code],
      pendingDeviceCode: pending.device_code,
      refreshTokens: [bystander.refresh_token, other.refresh_token],
      accessTokens: [bystander.access_token, other.access_token],
      agentIds: [bystander.agent_id, other.agent_id, pending.agent_id],
      usernames: ['fuzz-bystander', 'pending-one'],
      userCodes: [approved.user_code, denied.user_code, pending.user_code],
    }
  })
  afterAll(() => server.dispose())

  async function inject(request: BadRequest, remoteAddress: string): Promise<Received> {
    const response = await server.test.server.app.inject({
      method: request.method as 'POST',
      url: request.url,
      headers: request.headers,
      payload: request.body,
      remoteAddress,
    })
    return { status: response.statusCode, headers: response.headers, text: response.body }
  }

  async function overHttp(request: BadRequest): Promise<Received> {
    const response = await fetch(`${server.url}${request.url}`, { method: request.method, headers: request.headers, body: request.body })
    return { status: response.status, headers: response.headers, text: await response.text() }
  }

  async function signIn(): Promise<OwnerCredentials> {
    const owner = await server.owner()
    const response = await fetch(`${server.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: owner.email, password: owner.password }),
    })
    const body = (await response.json()) as { csrf_token: string }
    return { cookie: response.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; '), csrf: body.csrf_token }
  }

  /**
   * Every request comes from a random address, so no address's budget runs
   * out. The owner's account has one budget of wrong user codes; once it runs
   * out, the clock is moved past its window, so that later requests reach the
   * checks behind it again.
   */
  function check(
    arbitrary: fc.Arbitrary<BadRequest>,
    runs: number,
    send: (request: BadRequest, address: string) => Promise<Received>,
    expectAnswer: (request: BadRequest, received: Received) => void = expectDocumented,
  ): Promise<void> {
    return fc.assert(
      fc.asyncProperty(arbitrary, fc.ipV4(), async (request, address) => {
        const received = await send(request, address)
        expectAnswer(request, received)
        if (accountLimited(received)) server.clock.advance(15 * 60_000)
      }),
      { numRuns: runs },
    )
  }

  it.each(OAUTH_PATHS)('answers 1,000 bad requests to %s as documented, never with a 5xx', async (path) => {
    await check(oauthRequest(path, known), RUNS, inject)
  })

  it('answers 1,000 requests to discovery, the JWKS and odd paths near them, with any method, as documented', async () => {
    await check(wellKnownRequest, RUNS, inject)
  })

  const ownerRoutes = [
    { name: 'POST /api/owners', method: 'POST', path: () => '/api/owners', json: true },
    { name: 'POST /api/session', method: 'POST', path: () => '/api/session', json: true },
    { name: 'GET /api/session', method: 'GET', path: () => '/api/session' },
    { name: 'DELETE /api/session', method: 'DELETE', path: () => '/api/session' },
    { name: 'GET /api/approvals/{user_code}', method: 'GET', path: (code: string) => `/api/approvals/${code}` },
    { name: 'POST /api/approvals/{user_code}/approve', method: 'POST', path: (code: string) => `/api/approvals/${code}/approve` },
    { name: 'POST /api/approvals/{user_code}/deny', method: 'POST', path: (code: string) => `/api/approvals/${code}/deny` },
    { name: 'GET /api/agents', method: 'GET', path: () => '/api/agents' },
    { name: 'POST /api/agents/{id}/revoke', method: 'POST', path: (id: string) => `/api/agents/${id}/revoke` },
  ]

  it.each(ownerRoutes.map((route) => [route.name, route] as const))('answers 1,000 bad requests to %s as documented, never with a 5xx', async (_, route) => {
    await check(ownerRequest(route, await signIn(), known), RUNS, inject)
  })

  it.each(CONSOLE_PAGES)('answers 1,000 bad requests to the console page %s with a page, a redirect on this server or a documented error, never a 5xx', async (page) => {
    await check(consoleRequest(page, await signIn(), known), RUNS, inject, expectConsoleAnswer)
  })

  it('answers bad requests over real HTTP as documented too', async () => {
    const session = await signIn()
    const everyEndpoint = fc.oneof(
      ...OAUTH_PATHS.map((path) => oauthRequest(path, known)),
      wellKnownRequest,
      ...ownerRoutes.filter((route) => route.method !== 'DELETE').map((route) => ownerRequest(route, session, known)),
    )
    await check(everyEndpoint, HTTP_RUNS * 4, (request) => overHttp(request))
  })

  it('is healthy afterwards: discovery answers as before, a full flow works, and the data file opens again', async () => {
    expect(await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()).toEqual(discovery)
    // Past the wrong-user-code window: the fuzzing above spent this address's budget of wrong codes, by design.
    server.clock.advance(16 * 60_000)
    const login = await approvedLogin(server, { agent_name: 'After The Storm' })
    const refreshed = await refreshGrant(server.url, login.refresh_token)
    expect(refreshed.status).toBe(200)
    expect((await revokeToken(server.url, { token: refreshed.body.refresh_token })).status).toBe(200)

    const test = await server.test.restart()
    const owner = await server.owner()
    await owner.signIn()
    const again = await approvedLogin({ ...server, url: test.url, approve: (code) => owner.approve(code) }, { agent_name: 'After The Restart' })
    expect(again.token_type).toBe('Bearer')
    server = { ...server, test, url: test.url, dispose: () => test.dispose() }
  })
})
