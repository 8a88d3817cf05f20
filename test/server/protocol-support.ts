/**
 * Test support for the protocol suites (§1–§4, §7): a real reference server on
 * 127.0.0.1 port 0 with a clock the test moves, an owner who decides through
 * the owner API, and one small function per protocol request.
 */
import { expect } from 'vitest'
import type { ServerOptions } from '../../src/server/index.js'
import { CLIENT_ID, DEVICE_CODE_GRANT, TestOwner, postForm, startTestServer, type TestServer } from '../support/server.js'

export { CLIENT_ID, DEVICE_CODE_GRANT }

export interface Answer {
  status: number
  body: any
  headers: Headers
}

/** A clock that starts at a whole second of real time and moves only when told. */
export class ManualClock {
  #now = Math.floor(Date.now() / 1000) * 1000

  readonly now = (): number => this.#now

  advance(ms: number): void {
    this.#now += ms
  }
}

export interface ProtocolServer {
  test: TestServer
  url: string
  clock: ManualClock
  /** The owner who decides this server's approvals, signed up on first use. */
  owner(): Promise<TestOwner>
  approve(userCode: string): Promise<void>
  deny(userCode: string): Promise<void>
  dispose(): Promise<void>
}

/**
 * Starts a server whose clock is `clock` (a ManualClock by default). Pass
 * `realClock: true` where real waiting is the point (long-poll).
 */
export async function startProtocolServer(options: ServerOptions = {}, { realClock = false } = {}): Promise<ProtocolServer> {
  const clock = new ManualClock()
  const test = await startTestServer({ ...(realClock ? {} : { now: clock.now }), ...options })
  let owner: Promise<TestOwner> | undefined
  const self: ProtocolServer = {
    test,
    url: test.url,
    clock,
    owner: () => (owner ??= TestOwner.create(test.url)),
    approve: async (userCode) => (await self.owner()).approve(userCode),
    deny: async (userCode) => (await self.owner()).deny(userCode),
    dispose: () => test.dispose(),
  }
  return self
}

export function startApproval(url: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  return postForm(`${url}/oauth/device_authorization`, { client_id: CLIENT_ID, ...params }, headers)
}

/** Registers an agent and returns the 200 device authorization answer's body. */
export async function startRegistration(url: string, params: Record<string, string> = {}): Promise<any> {
  const answer = await startApproval(url, { agent_name: `Agent ${Math.random().toString(36).slice(2, 8)}`, ...params })
  if (answer.status !== 200) throw new Error(`device authorization failed with ${answer.status}: ${JSON.stringify(answer.body)}`)
  return answer.body
}

export function pollToken(url: string, deviceCode: string, extra: Record<string, string> = {}): Promise<Answer> {
  return postForm(`${url}/oauth/token`, { client_id: CLIENT_ID, grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, ...extra })
}

export function refreshGrant(url: string, refreshToken: string, extra: Record<string, string> = {}): Promise<Answer> {
  return postForm(`${url}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: refreshToken, ...extra })
}

export function revokeToken(url: string, params: Record<string, string>): Promise<Answer> {
  return postForm(`${url}/oauth/revoke`, { client_id: CLIENT_ID, ...params })
}

/** Registers an agent, has the owner approve it, and exchanges the device code: the 200 token answer's body. */
export async function approvedLogin(server: ProtocolServer, params: Record<string, string> = {}): Promise<any> {
  const started = await startRegistration(server.url, params)
  await server.approve(started.user_code)
  const tokens = await pollToken(server.url, started.device_code)
  if (tokens.status !== 200) throw new Error(`token exchange failed with ${tokens.status}: ${JSON.stringify(tokens.body)}`)
  return tokens.body
}

/** GET /api/agent/me with a bearer token: the status tells whether the resource server accepts the token. */
export async function agentMe(url: string, accessToken: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}/api/agent/me`, { headers: { authorization: `Bearer ${accessToken}` } })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}

/** An RFC 6749 §5.2 error answer: status, `error`, and a description matching `description`. */
export function expectOAuthError(answer: { status: number; body: any }, status: number, error: string, description: RegExp): void {
  expect({ status: answer.status, error: answer.body?.error }).toEqual({ status, error })
  expect(Object.keys(answer.body).sort()).toEqual(['error', 'error_description'])
  expect(answer.body.error_description).toMatch(description)
}

export function jwtHeader(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'))
}

export function jwtClaims(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'))
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A repeat answered with the kept pair itself: the same access and refresh token. */
export function expectSamePair(repeat: Answer, kept: { access_token: string; refresh_token: string }): void {
  expect(repeat.status).toBe(200)
  expect(repeat.body.refresh_token).toBe(kept.refresh_token)
  expect(repeat.body.access_token).toBe(kept.access_token)
}

/** A repeat answered with the kept refresh token and a fresh access token of the same login, which the resource server takes. */
export async function expectFreshAccess(url: string, repeat: Answer, kept: { access_token: string; refresh_token: string }, accessTtl: number): Promise<void> {
  expect(repeat.status).toBe(200)
  expect(repeat.body.refresh_token).toBe(kept.refresh_token)
  expect(repeat.body.access_token).not.toBe(kept.access_token)
  expect(repeat.body.expires_in).toBe(accessTtl)
  expect(jwtClaims(repeat.body.access_token).sid).toBe(jwtClaims(kept.access_token).sid)
  expect((await agentMe(url, repeat.body.access_token)).status).toBe(200)
}
