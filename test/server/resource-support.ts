/**
 * Test support for the resource endpoints, verification and guards: a real
 * reference server with a clock the test can skew, and agents that log in
 * through the device flow, approved by a real owner through the owner API.
 */
import { readFile } from 'node:fs/promises'
import type { JWK } from 'jose'
import { WebSocket } from 'ws'
import type { ServerOptions } from '../../src/server/index.js'
import { CLIENT_ID, DEVICE_CODE_GRANT, TestOwner, postForm, startTestServer } from '../support/server.js'

export interface Login {
  accessToken: string
  refreshToken: string
  agentId: string
  scope: string
  /** The access token's `exp`, unix seconds. */
  exp: number
}

export interface ResourceServer {
  url: string
  wsUrl: string
  /** The owner who approves every agent of this server. */
  ownerId: string
  /** The owner revokes every login of one of their agents (owner API). */
  revokeAgent(agentId: string): Promise<void>
  /** The server's private signing key, read from its data file, for crafting tokens a real key signed. */
  signingJwk(): Promise<JWK>
  /** Milliseconds added to the server's clock (negative: the server lives in the past). */
  skew: number
  /** Registers a new agent with the given scope and returns its first tokens. */
  register(options?: { name?: string; scope?: string }): Promise<Login>
  /** The refresh grant, optionally narrowing the scope. */
  refresh(login: Login, scope?: string): Promise<Login>
  /** RFC 7009 revocation. */
  revoke(token: string, hint?: 'access_token' | 'refresh_token'): Promise<void>
  /** Registers an agent whose access token has only 1-2 seconds left, then puts the clock right. */
  registerNearlyExpired(options?: { name?: string; scope?: string }): Promise<Login>
  dispose(): Promise<void>
}

export async function startResourceServer(options: ServerOptions = {}): Promise<ResourceServer> {
  let skew = 0
  const test = await startTestServer({ ...options, now: () => Date.now() + skew })
  const owner = await TestOwner.create(test.url)
  const url = test.url
  let agents = 0
  const self: ResourceServer = {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/ws`,
    ownerId: owner.ownerId,
    revokeAgent: (agentId) => owner.revokeAgent(agentId),
    async signingJwk() {
      const data = JSON.parse(await readFile(test.dataFile, 'utf8')) as { signingKeys: Array<{ privateJwk: JWK }> }
      return data.signingKeys[0]!.privateJwk
    },
    get skew() {
      return skew
    },
    set skew(value: number) {
      skew = value
    },
    async register({ name = `Resource agent ${++agents}`, scope = 'agent offline_access' } = {}) {
      const started = await postForm(`${test.url}/oauth/device_authorization`, { client_id: CLIENT_ID, agent_name: name, scope })
      if (started.status !== 200) throw new Error(`device authorization failed with ${started.status}: ${JSON.stringify(started.body)}`)
      await owner.approve(started.body.user_code)
      const tokens = await postForm(`${test.url}/oauth/token`, { client_id: CLIENT_ID, grant_type: DEVICE_CODE_GRANT, device_code: started.body.device_code })
      if (tokens.status !== 200) throw new Error(`token exchange failed with ${tokens.status}: ${JSON.stringify(tokens.body)}`)
      return loginOf(tokens.body)
    },
    async refresh(login, scope) {
      const params: Record<string, string> = { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: login.refreshToken }
      if (scope !== undefined) params.scope = scope
      const tokens = await postForm(`${test.url}/oauth/token`, params)
      if (tokens.status !== 200) throw new Error(`refresh failed with ${tokens.status}: ${JSON.stringify(tokens.body)}`)
      return loginOf(tokens.body)
    },
    async revoke(token, hint) {
      const params: Record<string, string> = { client_id: CLIENT_ID, token }
      if (hint) params.token_type_hint = hint
      const answer = await postForm(`${test.url}/oauth/revoke`, params)
      if (answer.status !== 200) throw new Error(`revocation failed with ${answer.status}: ${JSON.stringify(answer.body)}`)
    },
    async registerNearlyExpired(registration) {
      const ttl = options.accessTtl ?? 3600
      // Issued as if 1 s less than its lifetime ago; `exp` is rounded up to a whole second, so 1-2 s remain.
      skew = -(ttl * 1000 - 1000)
      try {
        return await self.register(registration)
      } finally {
        skew = 0
      }
    },
    dispose: () => test.dispose(),
  }
  return self
}

function loginOf(body: any): Login {
  const payload = JSON.parse(Buffer.from(String(body.access_token).split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }
  return { accessToken: body.access_token, refreshToken: body.refresh_token, agentId: body.agent_id, scope: body.scope, exp: payload.exp }
}

/** GET with an optional Authorization header; status, the challenge and the JSON body. */
export async function getWithToken(url: string, authorization?: string): Promise<{ status: number; challenge: string | null; body: any }> {
  const response = await fetch(url, { headers: authorization === undefined ? {} : { authorization } })
  const text = await response.text()
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: text ? JSON.parse(text) : undefined }
}

/** A WebSocket client that records what happens to it. */
export class WsClient {
  readonly socket: WebSocket
  readonly messages: any[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  readonly opened: Promise<void>
  #waiters: Array<() => void> = []

  constructor(url: string, token: string | undefined) {
    this.socket = new WebSocket(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
    this.socket.on('error', () => {})
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve())
      this.socket.once('close', (code) => reject(new Error(`closed with ${code} before opening`)))
    })
    this.opened.catch(() => {})
    this.closed = new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })))
    this.socket.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString('utf8')))
      for (const wake of this.#waiters.splice(0)) wake()
    })
  }

  static async open(url: string, token: string): Promise<WsClient> {
    const client = new WsClient(url, token)
    await client.opened
    return client
  }

  send(value: unknown): void {
    this.socket.send(typeof value === 'string' ? value : JSON.stringify(value))
  }

  /** Resolves with the n-th message (1-based) once it has arrived. */
  async message(n: number): Promise<any> {
    while (this.messages.length < n) {
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push(resolve)
        this.closed.then(({ code }) => reject(new Error(`the socket closed with ${code} before message ${n}`)))
      })
    }
    return this.messages[n - 1]
  }

  /** Sends and waits for the next message. */
  async ask(value: unknown): Promise<any> {
    const n = this.messages.length + 1
    this.send(value)
    return this.message(n)
  }

  close(): void {
    this.socket.terminate()
  }
}

/** An upgrade attempt that the server must refuse before upgrading: the HTTP status and challenge it answered. */
export function refusedUpgrade(url: string, authorization: string | undefined): Promise<{ status: number; challenge: string | undefined; body: any; opened: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: authorization === undefined ? {} : { authorization } })
    let opened = false
    socket.on('open', () => {
      opened = true
      socket.terminate()
      resolve({ status: 101, challenge: undefined, body: undefined, opened })
    })
    socket.on('error', (error) => {
      if (!opened) reject(error)
    })
    socket.on('unexpected-response', (request, response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => {
        request.destroy()
        resolve({ status: response.statusCode ?? 0, challenge: response.headers['www-authenticate'], body: text ? JSON.parse(text) : undefined, opened })
      })
    })
  })
}

/** Waits until the given epoch ms has passed on the real clock. */
export function realTimePast(epochMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now() + 20)))
}
