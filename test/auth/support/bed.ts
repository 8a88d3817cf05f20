/**
 * Test support for the agent runtime: the reference server behind the
 * counting proxy, an owner to approve, the server's data file to count
 * agents and approvals, and agent processes whose JSON lines can be awaited.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach } from 'vitest'
import type { AuthManager } from '../../../src/index.js'
import type { ServerOptions } from '../../../src/server/index.js'
import { startChild, type Child } from '../../support/process.js'
import { startTestServer, TestOwner, type TestServer } from '../../support/server.js'
import { startProxy, type Proxy } from './proxy.js'

export interface Bed {
  /** The base URL agents use: the proxy, which the server names as its issuer. */
  url: string
  server: TestServer
  proxy: Proxy
  owner: TestOwner
  /** A fresh folder for session files. */
  dir: string
  /** The server's persisted document. */
  data(): Promise<{ agents: unknown[]; approvals: Array<{ idempotencyKey: string | null; status: string; userCode: string }>; refreshTokens: Array<{ familyId: string; rotatedAt: number | null }> }>
  dispose(): Promise<void>
}

/** A bed for each test of the file, and the managers a test `track`s on it, all disposed after each test. */
export function bedPerTest(options: ServerOptions): { readonly bed: Bed; track(auth: AuthManager): AuthManager } {
  let current: Bed | null = null
  let managers: AuthManager[] = []
  beforeEach(async () => {
    current = await startBed(options)
    managers = []
  })
  afterEach(async () => {
    for (const auth of managers) auth.dispose()
    await current?.dispose()
    current = null
  })
  return {
    get bed() {
      if (current === null) throw new Error('the bed exists only while a test runs')
      return current
    },
    track(auth) {
      managers.push(auth)
      return auth
    },
  }
}

export async function startBed(options: ServerOptions = {}): Promise<Bed> {
  const proxy = await startProxy()
  const server = await startTestServer({ interval: 1, accessTtl: 5, refreshGrace: 30, ...options, issuer: proxy.url })
  proxy.target = `http://127.0.0.1:${(server.server.app.server.address() as AddressInfo).port}`
  const owner = await TestOwner.create(proxy.url)
  const dir = await mkdtemp(join(tmpdir(), 'countersign-auth-'))
  return {
    url: proxy.url,
    server,
    proxy,
    owner,
    dir,
    data: async () => JSON.parse(await readFile(server.dataFile, 'utf8')),
    dispose: async () => {
      await server.dispose()
      await proxy.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

const FIXTURE = fileURLToPath(new URL('../fixtures/agent.ts', import.meta.url))

export interface AgentLine {
  event: string
  pid: number
  now: number
  [field: string]: unknown
}

export interface AgentProcess {
  child: Child
  lines(): AgentLine[]
  /** The first line of `event` (matching `where`) printed so far or from now on. */
  next(event: string, where?: (line: AgentLine) => boolean, timeoutMs?: number): Promise<AgentLine>
  /** kill -9, and wait until the process is gone. */
  kill(): Promise<void>
}

export function startAgent(env: Record<string, string>): AgentProcess {
  const child = startChild(process.execPath, ['--import', 'tsx', FIXTURE], { env })
  const lines = (): AgentLine[] =>
    child
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as AgentLine)
  return {
    child,
    lines,
    next(event, where = () => true, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines().find((line) => line.event === event && where(line))
          if (found) {
            done()
            resolve(found)
          } else if (child.process.exitCode !== null || child.process.signalCode !== null) {
            done()
            reject(new Error(`the agent exited before printing ${event}; stdout: ${child.stdout()} stderr: ${child.stderr()}`))
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`no ${event} line within ${timeoutMs} ms; stdout: ${child.stdout()} stderr: ${child.stderr()}`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          child.process.stdout.off('data', check)
          child.process.off('exit', check)
        }
        child.process.stdout.on('data', check)
        child.process.on('exit', check)
        check()
      })
    },
    async kill() {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL')
      await child.exited
    },
  }
}

/** Polls `condition` on real time (for conditions another process makes true). */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
