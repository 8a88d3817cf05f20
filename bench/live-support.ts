/**
 * What the live-client benchmarks share: the reference server in its own
 * process, and an AuthManager signed in as a new agent of it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { AuthManager } from '../src/index.js'
import { BenchOwner } from './server-support.js'

const here = dirname(fileURLToPath(import.meta.url))

export interface ServerProcess {
  url: string
  wsUrl: string
  child: ChildProcess
  stop(): Promise<void>
}

export async function startServerProcess(): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'live-server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const [line] = (await once(lines, 'line')) as [string]
  const { url } = JSON.parse(line) as { url: string }
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/ws`,
    child,
    async stop() {
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

export async function signedInManager(url: string, owner?: BenchOwner): Promise<AuthManager> {
  const approver = owner ?? (await BenchOwner.signUp(url))
  const auth = new AuthManager(url, undefined, { logger: {} })
  const handle = await auth.register({ name: 'Bench agent' })
  const approved = handle.waitForApproval()
  await approver.approve(handle.userCode)
  await approved
  return auth
}
