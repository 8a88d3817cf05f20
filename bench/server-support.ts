/**
 * What the server benchmarks share: a reference server on loopback with its
 * data in a temp folder (a real file, as `countersign serve` keeps it), an
 * owner who approves through the owner API, and summary statistics.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type CountersignServer, type ServerOptions } from '../src/server/index.js'

export const CLIENT_ID = 'countersign-agent'
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

export interface BenchServer {
  server: CountersignServer
  url: string
  dataFile: string
  owner: BenchOwner
  dataFileBytes(): Promise<number>
  dispose(): Promise<void>
}

/** A server with a data file in a temp folder, or with `inMemory` none at all. */
export async function startBenchServer({ inMemory = false, ...options }: ServerOptions & { inMemory?: boolean } = {}): Promise<BenchServer> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-bench-'))
  const dataFile = join(dir, 'server.json')
  const server = await createServer({ host: '127.0.0.1', port: 0, rateLimit: 1_000_000, ...options, ...(inMemory ? {} : { dataFile }) })
  const owner = await BenchOwner.signUp(server.url)
  return {
    server,
    url: server.url,
    dataFile,
    owner,
    dataFileBytes: async () => (await stat(dataFile)).size,
    async dispose() {
      await server.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export class BenchOwner {
  readonly #url: string
  readonly #cookie: string
  readonly #csrf: string

  private constructor(url: string, cookie: string, csrf: string) {
    this.#url = url
    this.#cookie = cookie
    this.#csrf = csrf
  }

  static async signUp(url: string): Promise<BenchOwner> {
    const credentials = JSON.stringify({ email: `bench-${Date.now()}@example.test`, password: 'bench password 1' })
    const json = { 'content-type': 'application/json' }
    const signUp = await fetch(`${url}/api/owners`, { method: 'POST', headers: json, body: credentials })
    if (signUp.status !== 201) throw new Error(`sign-up failed with ${signUp.status}: ${await signUp.text()}`)
    const signIn = await fetch(`${url}/api/session`, { method: 'POST', headers: json, body: credentials })
    if (signIn.status !== 200) throw new Error(`sign-in failed with ${signIn.status}: ${await signIn.text()}`)
    const { csrf_token: csrf } = (await signIn.json()) as { csrf_token: string }
    return new BenchOwner(url, signIn.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; '), csrf)
  }

  async approve(userCode: string): Promise<void> {
    const response = await fetch(`${this.#url}/api/approvals/${encodeURIComponent(userCode)}/approve`, {
      method: 'POST',
      headers: { cookie: this.#cookie, 'x-csrf-token': this.#csrf },
    })
    if (response.status !== 200) throw new Error(`approve failed with ${response.status}: ${await response.text()}`)
  }
}

export async function postForm(url: string, params: Record<string, string>): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) })
  return { status: response.status, body: await response.json() }
}

export interface Started {
  deviceCode: string
  userCode: string
  agentId: string
  interval: number
}

export async function startRegistration(url: string, name: string): Promise<Started> {
  const { status, body } = await postForm(`${url}/oauth/device_authorization`, { client_id: CLIENT_ID, agent_name: name, scope: 'agent offline_access' })
  if (status !== 200) throw new Error(`device authorization failed with ${status}: ${JSON.stringify(body)}`)
  return { deviceCode: body.device_code, userCode: body.user_code, agentId: body.agent_id, interval: body.interval }
}

/** Registers an agent, approves it and exchanges the code: its first refresh token. */
export async function loggedInAgent(bench: BenchServer, name: string): Promise<string> {
  const started = await startRegistration(bench.url, name)
  await bench.owner.approve(started.userCode)
  const { status, body } = await postForm(`${bench.url}/oauth/token`, { client_id: CLIENT_ID, grant_type: DEVICE_CODE_GRANT, device_code: started.deviceCode })
  if (status !== 200) throw new Error(`token exchange failed with ${status}: ${JSON.stringify(body)}`)
  return body.refresh_token
}

export interface Summary {
  n: number
  mean: number
  p50: number
  p95: number
  min: number
  max: number
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
  return {
    n: sorted.length,
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    min: sorted[0]!,
    max: sorted.at(-1)!,
  }
}

export function machine(): string {
  return `${availableParallelism()} cores available (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), node ${process.version}, ${process.platform}`
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
