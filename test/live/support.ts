/**
 * Test support for the live clients: a real reference server that counts the
 * token requests it receives (refresh grants are token requests), an owner
 * acting through the owner API, and agents signed in through the device
 * flow that owner approves.
 */
import type { IncomingMessage } from 'node:http'
import type { ServerOptions } from '../../src/server/index.js'
import { tokenExpiresAt } from '../../src/token-expiry.js'
import { CLIENT_ID, DEVICE_CODE_GRANT, TestOwner, postForm, startTestServer, type TestServer } from '../support/server.js'

export interface LiveServer {
  test: TestServer
  url: string
  wsUrl: string
  owner: TestOwner
  /** POST /oauth/token requests the server received so far (every server instance since start). */
  readonly tokenRequests: number
  /** WebSocket upgrade requests to /ws the server received so far. */
  readonly upgrades: number
  /** Stops the server and starts it again on the same port and data file. */
  restart(): Promise<void>
  stop(): Promise<void>
  dispose(): Promise<void>
}

export async function startLiveServer(options: ServerOptions = {}): Promise<LiveServer> {
  let test = await startTestServer(options)
  let tokenRequests = 0
  let upgrades = 0
  const count = (server: TestServer) => {
    // Node's own server events: Fastify hooks cannot be added once it listens.
    const http = server.server.app.server
    http.on('request', (request: IncomingMessage) => {
      if (request.method === 'POST' && request.url?.startsWith('/oauth/token')) tokenRequests++
    })
    http.on('upgrade', (request: IncomingMessage) => {
      if (request.url?.startsWith('/ws')) upgrades++
    })
  }
  count(test)
  const owner = await TestOwner.create(test.url)
  const self: LiveServer = {
    get test() {
      return test
    },
    url: test.url,
    wsUrl: `${test.url.replace(/^http/, 'ws')}/ws`,
    owner,
    get tokenRequests() {
      return tokenRequests
    },
    get upgrades() {
      return upgrades
    },
    async restart() {
      test = await test.restart()
      count(test)
    },
    stop: () => test.stop(),
    dispose: () => test.dispose(),
  }
  return self
}

export interface AgentTokens {
  agentId: string
  accessToken: string
  refreshToken: string
}

/** Registers an agent through the device flow, approved by the server's owner, and returns its first tokens. */
export async function registerAgent(server: LiveServer, scope = 'agent offline_access'): Promise<AgentTokens> {
  const started = await postForm(`${server.url}/oauth/device_authorization`, { client_id: CLIENT_ID, agent_name: `Live agent ${Math.random().toString(36).slice(2, 8)}`, scope })
  if (started.status !== 200) throw new Error(`device authorization failed with ${started.status}: ${JSON.stringify(started.body)}`)
  await server.owner.approve(started.body.user_code)
  const tokens = await postForm(`${server.url}/oauth/token`, { client_id: CLIENT_ID, grant_type: DEVICE_CODE_GRANT, device_code: started.body.device_code })
  if (tokens.status !== 200) throw new Error(`token exchange failed with ${tokens.status}: ${JSON.stringify(tokens.body)}`)
  return { agentId: tokens.body.agent_id, accessToken: tokens.body.access_token, refreshToken: tokens.body.refresh_token }
}

/** RFC 7009: revokes one access token at the server (its family lives on, so a refresh still works). */
export async function revokeAccessToken(server: LiveServer, token: string): Promise<void> {
  const answer = await postForm(`${server.url}/oauth/revoke`, { client_id: CLIENT_ID, token, token_type_hint: 'access_token' })
  if (answer.status !== 200) throw new Error(`revocation failed with ${answer.status}`)
}

/**
 * A token source written the way a user would, over the real refresh grant:
 * the current access token, a refresh for 'unauthorized', and for 'expired'
 * a refresh when its token's own exp has passed. Counts the refreshes it
 * makes and records the reasons it is asked with.
 */
export class RefreshGrantSource {
  tokens: AgentTokens
  refreshes = 0
  readonly reasons: string[] = []
  readonly #server: LiveServer

  constructor(server: LiveServer, tokens: AgentTokens) {
    this.#server = server
    this.tokens = tokens
  }

  readonly source = async (reason?: 'initial' | 'expired' | 'unauthorized'): Promise<string> => {
    this.reasons.push(reason ?? 'none')
    const expiresAt = tokenExpiresAt(this.tokens.accessToken)
    if (reason === 'unauthorized' || (reason === 'expired' && expiresAt !== null && expiresAt <= Date.now())) await this.refresh()
    return this.tokens.accessToken
  }

  async refresh(): Promise<string> {
    this.refreshes++
    const answer = await postForm(`${this.#server.url}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: this.tokens.refreshToken })
    if (answer.status !== 200) throw new Error(`refresh failed with ${answer.status}: ${answer.body.error}`)
    this.tokens = { agentId: answer.body.agent_id, accessToken: answer.body.access_token, refreshToken: answer.body.refresh_token }
    return this.tokens.accessToken
  }
}

/** Resolves once `condition()` holds, checking every few ms; rejects after `timeoutMs` naming `what`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Everything a LiveSocket reports, recorded as it happens. */
export function record(socket: import('../../src/live/socket.js').LiveSocket) {
  const seen = {
    states: [] as string[],
    events: [] as import('../../src/live/socket.js').LiveSocketEvent[],
    echoes: [] as Array<string | number | undefined>,
    messages: [] as import('../../src/live/messages.js').ServerMessage[],
    of<T extends import('../../src/live/socket.js').LiveSocketEvent['type']>(type: T) {
      return seen.events.filter((e): e is Extract<import('../../src/live/socket.js').LiveSocketEvent, { type: T }> => e.type === type)
    },
  }
  socket.state$.subscribe((state) => seen.states.push(state))
  socket.events$.subscribe((event) => seen.events.push(event))
  socket.messages$.subscribe((message) => {
    seen.messages.push(message)
    if (message.kind === 'echo') seen.echoes.push(message.id)
  })
  return seen
}

/** A real AuthManager signed in as a new agent of `server`, approved by its owner through the owner API. */
export async function signedInManager(server: LiveServer, options: { scope?: string; managerOptions?: import('../../src/index.js').AuthManagerOptions } = {}) {
  const { AuthManager } = await import('../../src/index.js')
  const auth = new AuthManager(server.url, undefined, { logger: {}, ...options.managerOptions })
  const handle = await auth.register({ name: `Live agent ${Math.random().toString(36).slice(2, 8)}`, ...(options.scope ? { scope: options.scope } : {}) })
  const approved = handle.waitForApproval()
  await server.owner.approve(handle.userCode)
  await approved
  return auth
}
