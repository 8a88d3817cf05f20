/**
 * Test support: a real reference server on 127.0.0.1 port 0 with its data in
 * a fresh temp folder, and an owner acting through the owner API (protocol §6).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type CountersignServer, type ServerOptions } from '../../src/server/index.js'

export const CLIENT_ID = 'countersign-agent'
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

export interface TestServer {
  server: CountersignServer
  url: string
  dir: string
  dataFile: string
  /** Stops the server (idempotent). */
  stop(): Promise<void>
  /** Stops the server and starts a new one on the same data file and port. */
  restart(options?: ServerOptions): Promise<TestServer>
  /** Stops the server and removes its folder. */
  dispose(): Promise<void>
}

export async function startTestServer(options: ServerOptions = {}, dir?: string): Promise<TestServer> {
  const folder = dir ?? (await mkdtemp(join(tmpdir(), 'countersign-test-')))
  const dataFile = options.dataFile ?? join(folder, 'server.json')
  const server = await createServer({ host: '127.0.0.1', port: 0, ...options, dataFile })
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await server.close()
  }
  const self: TestServer = {
    server,
    url: server.url,
    dir: folder,
    dataFile,
    stop,
    async restart(next: ServerOptions = {}) {
      await stop()
      const port = Number(new URL(server.url).port)
      return startTestServer({ ...options, port, ...next, dataFile }, folder)
    },
    async dispose() {
      await stop()
      await rm(folder, { recursive: true, force: true })
    },
  }
  return self
}

/** POSTs a form to an OAuth endpoint and returns status and parsed JSON. */
export async function postForm(url: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  })
  return { status: response.status, body: await response.json(), headers: response.headers }
}

/** An owner signed in through the owner API, with a cookie jar of one cookie. */
export class TestOwner {
  readonly baseUrl: string
  readonly email: string
  readonly password: string
  ownerId = ''
  #cookie = ''
  #csrf = ''

  constructor(baseUrl: string, email: string, password = 'correct horse battery') {
    this.baseUrl = baseUrl
    this.email = email
    this.password = password
  }

  /** Signs up (ignoring 409, an existing owner) and signs in. */
  static async create(baseUrl: string, email = `owner-${Math.random().toString(36).slice(2)}@example.test`, password?: string): Promise<TestOwner> {
    const owner = new TestOwner(baseUrl, email, password)
    const signup = await fetch(`${baseUrl}/api/owners`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: owner.email, password: owner.password }),
    })
    if (signup.status !== 201 && signup.status !== 409) throw new Error(`sign-up failed with ${signup.status}: ${await signup.text()}`)
    await owner.signIn()
    return owner
  }

  async signIn(): Promise<void> {
    const response = await fetch(`${this.baseUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: this.email, password: this.password }),
    })
    if (response.status !== 200) throw new Error(`sign-in failed with ${response.status}: ${await response.text()}`)
    const body = (await response.json()) as { owner_id: string; csrf_token: string }
    this.ownerId = body.owner_id
    this.#csrf = body.csrf_token
    const setCookie = response.headers.getSetCookie()
    this.#cookie = setCookie.map((cookie) => cookie.split(';')[0]).join('; ')
  }

  /** A request with the session cookie and (for state changes) the CSRF header. */
  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { cookie: this.#cookie }
    if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = this.#csrf
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await response.text()
    return { status: response.status, body: text ? JSON.parse(text) : undefined }
  }

  async approve(userCode: string): Promise<void> {
    const { status, body } = await this.request('POST', `/api/approvals/${encodeURIComponent(userCode)}/approve`)
    if (status !== 200) throw new Error(`approve failed with ${status}: ${JSON.stringify(body)}`)
  }

  async deny(userCode: string): Promise<void> {
    const { status, body } = await this.request('POST', `/api/approvals/${encodeURIComponent(userCode)}/deny`)
    if (status !== 200) throw new Error(`deny failed with ${status}: ${JSON.stringify(body)}`)
  }

  async revokeAgent(agentId: string): Promise<void> {
    const { status, body } = await this.request('POST', `/api/agents/${encodeURIComponent(agentId)}/revoke`)
    if (status !== 200) throw new Error(`revoke failed with ${status}: ${JSON.stringify(body)}`)
  }
}
