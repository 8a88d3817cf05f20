/**
 * The fault suite's agent processes (test/faults/fixtures/agent.ts): started
 * on a session file, their JSON lines parsed as they come, killed with
 * SIGKILL, and the session file checked after each kill.
 */
import { readdir, readFile, rm } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startChild, type Child } from '../support/process.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/agent.ts', import.meta.url))

export interface AgentLine {
  event: string
  now: number
  [field: string]: unknown
}

export interface AgentSettings {
  url: string
  store: string
  name: string
  /** Extra environment: CS_SKEW_MS, CS_TIMEOUT_MS, CS_TOKEN_WAIT_MS, CS_CALL_MS, CS_CHECK_URL. */
  env?: Record<string, string>
}

export interface FaultAgent {
  readonly child: Child
  readonly lines: AgentLine[]
  readonly alive: boolean
  /** The first line of `event` (matching `where`), printed so far or from now on. */
  next(event: string, where?: (line: AgentLine) => boolean, timeoutMs?: number): Promise<AgentLine>
  /** Gets a token and has the server say whose it is. */
  check(timeoutMs?: number): Promise<AgentLine>
  /** kill -9, and wait until the process is gone. */
  kill(): Promise<void>
}

export function startFaultAgent(settings: AgentSettings): FaultAgent {
  const child = startChild(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { CS_URL: settings.url, CS_STORE: settings.store, CS_NAME: settings.name, ...settings.env },
  })
  const lines: AgentLine[] = []
  const listeners = new Set<() => void>()
  let partial = ''
  child.process.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop()!
    for (const part of parts) if (part.startsWith('{')) lines.push(JSON.parse(part) as AgentLine)
    for (const listener of listeners) listener()
  })
  void child.exited.then(() => {
    for (const listener of listeners) listener()
  })
  const alive = () => child.process.exitCode === null && child.process.signalCode === null

  const agent: FaultAgent = {
    child,
    lines,
    get alive() {
      return alive()
    },
    next(event, where = () => true, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        let seen = 0
        const check = () => {
          for (; seen < lines.length; seen++) {
            const line = lines[seen]!
            if (line.event === event && where(line)) return done(() => resolve(line))
          }
          if (!alive()) done(() => reject(new Error(`agent ${settings.name} exited before printing ${event}; stderr: ${child.stderr().slice(-2000)}`)))
        }
        const timer = setTimeout(() => done(() => reject(new Error(`agent ${settings.name}: no ${event} line within ${timeoutMs} ms; stderr: ${child.stderr().slice(-2000)}`))), timeoutMs)
        const done = (settle: () => void) => {
          clearTimeout(timer)
          listeners.delete(check)
          settle()
        }
        listeners.add(check)
        check()
      })
    },
    check(timeoutMs = 20_000) {
      const from = lines.length
      child.process.stdin.write('check\n')
      return agent.next('check', (line) => lines.indexOf(line) >= from, timeoutMs)
    },
    async kill() {
      if (alive()) child.process.kill('SIGKILL')
      await child.exited
    },
  }
  return agent
}

export type SessionFileState = { kind: 'missing' } | { kind: 'ok'; signedIn: boolean; state: string } | { kind: 'corrupt'; reason: string }

/** What a session file holds: missing (never written), a readable session document, or corrupt. */
export async function readSessionFile(path: string): Promise<SessionFileState> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' }
    throw error
  }
  const aside = (await readdir(dirname(path))).filter((name) => name.startsWith(`${basename(path)}.corrupt-`))
  if (aside.length > 0) return { kind: 'corrupt', reason: `moved aside: ${aside.join(', ')}` }
  try {
    const document = JSON.parse(text) as { format?: string; session?: { machine?: { snapshot?: { value?: unknown } } } | null }
    if (document.format !== 'countersign-session' || document.session === undefined) return { kind: 'corrupt', reason: 'not a session document' }
    const state = JSON.stringify(document.session?.machine?.snapshot?.value ?? null)
    return { kind: 'ok', signedIn: /authenticated|refreshing|saving/.test(state) && document.session !== null, state }
  } catch (error) {
    return { kind: 'corrupt', reason: `does not parse: ${(error as Error).message}` }
  }
}

/** Ends a fault test: its agents killed, then its server and proxy closed and its folder removed. */
export async function tearDown(parts: { agents: FaultAgent[]; server: { dispose(): Promise<void> }; proxy: { close(): Promise<void> }; dir: string }): Promise<void> {
  for (const agent of parts.agents) await agent.kill()
  await parts.server.dispose()
  await parts.proxy.close()
  await rm(parts.dir, { recursive: true, force: true })
}
