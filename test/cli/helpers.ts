/**
 * Helpers for the CLI tests: the real binary against a real reference
 * server, an owner who approves through the owner API, and a port nobody
 * listens on.
 */
import { createServer } from 'node:net'
import { readFile } from 'node:fs/promises'
import { CLI, startChild, type Child } from '../support/process.js'
import type { TestOwner } from '../support/server.js'

/** Starts the CLI with `args` (a child process whose output can be awaited). */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  return startChild(process.execPath, [CLI, ...args], { env })
}

/** Waits for the approval a waiting `register`/`login` printed in JSON and returns its event. */
export async function approvalOf(child: Child): Promise<{ approvalUrl: string; userCode: string; agentId: string; expiresAt: string }> {
  const [line] = await child.waitForLine(/^\{"type":"approvalStarted".*\}$/)
  return JSON.parse(line)
}

/** The user code a waiting `register`/`login` printed as text. */
export async function userCodeOf(child: Child): Promise<string> {
  const [, code] = await child.waitForLine(/^ {2}user code: +([A-Z]{4}-[A-Z]{4})$/)
  return code!
}

/** Registers an agent through the CLI and approves it: the store then holds a signed-in session. Returns the agent id. */
export async function registeredAgent(server: string, owner: TestOwner, store: string, name = 'CLI agent'): Promise<string> {
  const child = cli(['--json', 'register', '--server', server, '--name', name, '--store', store])
  const approval = await approvalOf(child)
  await owner.approve(approval.userCode)
  const { code } = await child.exited
  if (code !== 0) throw new Error(`register exited with ${code}: ${child.stderr()}`)
  return approval.agentId
}

/** A port on 127.0.0.1 with nothing listening (taken, then freed). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** The session record a FileStore wrote. */
export async function storedSession(path: string): Promise<any> {
  return JSON.parse(await readFile(path, 'utf8')).session
}

/** Every stdout line parsed as JSON (the output of --json). */
export function jsonLines(stdout: string): any[] {
  return stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line))
}
