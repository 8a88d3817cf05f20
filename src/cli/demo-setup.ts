/**
 * What `countersign demo` keeps under ./.countersign/ (git-ignored): the
 * server's data, the agent's session, and demo.json (mode 0600) with the
 * local owner's generated credentials and the port used last time, so a
 * second run prints the same password and serves at the same address.
 */
import { randomBytes } from 'node:crypto'
import { access, mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { CorruptFileError, CountersignError, ErrorCodes } from '../errors.js'
import type { CountersignServer } from '../server/index.js'
import { AtomicJsonFile } from '../../stores/atomic-file.js'
import { UsageError } from './usage.js'

export const DEMO_DIR = '.countersign'

export interface DemoFiles {
  dir: string
  /** The reference server's data (owners, agents, token families, signing key). */
  serverData: string
  /** The demo agent's FileStore. */
  agentStore: string
  /** The owner's credentials and the last port. */
  settings: string
}

export function demoFiles(cwd: string = process.cwd()): DemoFiles {
  const dir = resolve(cwd, DEMO_DIR)
  return { dir, serverData: join(dir, 'server.json'), agentStore: join(dir, 'agent.json'), settings: join(dir, 'demo.json') }
}

export interface DemoSettings {
  format: 'countersign-demo'
  owner: { email: string; password: string }
  port: number | null
}

function isDemoSettings(value: unknown): value is DemoSettings {
  const v = value as Partial<DemoSettings> | null
  return (
    typeof v === 'object' && v !== null && v.format === 'countersign-demo' &&
    typeof v.owner?.email === 'string' && v.owner.email.includes('@') &&
    typeof v.owner.password === 'string' && v.owner.password.length >= 8 &&
    (v.port === null || (Number.isInteger(v.port) && v.port! > 0 && v.port! <= 65535))
  )
}

export const DEMO_OWNER_EMAIL = 'owner@countersign.localhost'

/**
 * The saved settings, or new ones with a fresh password, not saved yet: the
 * caller saves them (saveDemoSettings) once they fit the server's data (see
 * checkOwnerSignsIn), so a password that cannot sign in is never kept. A
 * corrupt file throws CorruptFileError and is left as it is.
 */
export async function loadDemoSettings(files: DemoFiles): Promise<{ settings: DemoSettings; created: boolean }> {
  await mkdir(files.dir, { recursive: true, mode: 0o700 })
  const saved = await new AtomicJsonFile<DemoSettings>(files.settings, { validate: isDemoSettings }).read()
  if (saved !== null) return { settings: saved, created: false }
  const settings: DemoSettings = { format: 'countersign-demo', owner: { email: DEMO_OWNER_EMAIL, password: randomBytes(12).toString('base64url') }, port: null }
  return { settings, created: true }
}

export async function saveDemoSettings(files: DemoFiles, settings: DemoSettings): Promise<void> {
  await new AtomicJsonFile<DemoSettings>(files.settings, { validate: isDemoSettings }).write(settings)
}

export interface DemoServerOptions {
  /** A port asked for on the command line: used or failed, never replaced. */
  port?: number
  /** The port a first run tries (demoFirstPort()). */
  firstPort: number
  accessTtl: number
}

/** The port a first run tries, the reference server's default, so the examples' default URL reaches the demo server. */
export const DEMO_FIRST_PORT = 4000

/** Names another port for a first run to try, for a machine where 4000 belongs to something else (and for tests). */
export const DEMO_FIRST_PORT_ENV = 'COUNTERSIGN_DEMO_FIRST_PORT'

/** DEMO_FIRST_PORT, or the port the environment names; a malformed value is a UsageError naming the variable. */
export function demoFirstPort(env: NodeJS.ProcessEnv = process.env): number {
  const value = env[DEMO_FIRST_PORT_ENV]
  if (value === undefined || value === '') return DEMO_FIRST_PORT
  const number = Number(value)
  if (!/^\d+$/.test(value) || number < 1 || number > 65535) throw new UsageError(`${DEMO_FIRST_PORT_ENV} must be a whole number from 1 to 65535 (got "${value}")`)
  return number
}

/**
 * Starts the reference server on the port of the last run (the agent's
 * tokens name the server's address as their issuer), or on the first port
 * (4000) the first time; when that port is taken, on a free one. The owner is created when
 * missing. `movedFrom` names the last run's port when it had to move.
 */
export async function startDemoServer(files: DemoFiles, settings: DemoSettings, options: DemoServerOptions): Promise<{ server: CountersignServer; movedFrom: number | null }> {
  // Loaded on use: the server's modules would slow every other command's start.
  const { createServer } = await import('../server/index.js')
  const start = (port: number) => createServer({ host: '127.0.0.1', port, dataFile: files.serverData, accessTtl: options.accessTtl, owner: settings.owner })
  if (options.port !== undefined) {
    try {
      return { server: await start(options.port), movedFrom: null }
    } catch (error) {
      throw portUnusable(error, options.port)
    }
  }
  try {
    return { server: await start(settings.port ?? options.firstPort), movedFrom: null }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    return { server: await start(0), movedFrom: settings.port }
  }
}

/** Whether the server's data is there before the server starts (it creates the file when missing). */
export async function hasServerData(files: DemoFiles): Promise<boolean> {
  return access(files.serverData).then(() => true, () => false)
}

/**
 * New settings next to the server's old data (demo.json removed, server.json
 * kept): the server keeps the owner it has, whose password is not the one
 * just made. Said at once, and the new settings are not saved, rather than
 * printing (and keeping) a password that cannot sign in.
 */
export async function checkOwnerSignsIn(serverUrl: string, settings: DemoSettings, files: DemoFiles): Promise<void> {
  const response = await fetch(`${serverUrl}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings.owner) })
  await response.body?.cancel()
  if (response.status === 200) return
  throw new Error(
    `${files.serverData} holds the owner ${settings.owner.email} with another password than the new one made for ${files.settings} (was demo.json removed?): delete the folder ${files.dir} to start the demo over`,
  )
}

/** A port asked for that cannot be listened on, in a person's words and with what to do instead; other errors as they are. */
function portUnusable(error: unknown, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code
  const why = code === 'EADDRINUSE' ? 'is in use by another program' : code === 'EACCES' ? 'may not be used by this user' : null
  if (why === null) return error
  return Object.assign(new Error(`port ${port} on 127.0.0.1 ${why} (${code}): choose another --port, or leave --port out and the demo finds a free one`, { cause: error }), { code })
}

/**
 * A corrupt demo file, with how to get past it: the server's data can go on
 * its own (the owner is created again from demo.json, the agent registers
 * again); demo.json holds the password of the owner in the server's data, so
 * it goes with the whole folder. The agent's session file needs no hint: the
 * FileStore sets it aside and the agent starts over.
 */
export function withRecoveryHint(error: unknown, files: DemoFiles): unknown {
  if (!(error instanceof CorruptFileError)) return error
  const hint =
    error.path === files.settings ? `delete the folder ${files.dir} to start the demo over (a new owner password, and the agent registers again)`
    : error.path === files.serverData ? "delete it to start the server's data over (the owner is created again from demo.json, and the agent registers again)"
    : null
  return hint === null ? error : new CountersignError(ErrorCodes.CORRUPT_FILE, `${error.message}: ${hint}`, { cause: error })
}
