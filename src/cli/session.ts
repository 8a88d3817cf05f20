/**
 * An agent's session as the CLI commands use it: one FileStore at the
 * `--store` path and an AuthManager on the server the session belongs to.
 * The store remembers that server (the record's `issuer`), so only
 * `register` and `login` ask for `--server`.
 */
import type { Command } from 'commander'
import { firstValueFrom } from 'rxjs'
import { resolve } from 'node:path'
import { AuthManager, type AuthLogger } from '../auth/index.js'
import { CountersignError, ErrorCodes, type CorruptFileError } from '../errors.js'
import type { SessionRecord } from '../../stores/contract.js'
import { FileStore } from '../../stores/file.js'
import type { Output } from './output.js'
import { defaultStorePath } from './paths.js'
import { SettlingStore } from './settling-store.js'

export interface StoreOptions {
  store?: string
}

/** Adds `--store PATH` to a command. */
export function withStoreOption(command: Command): Command {
  return command.option('--store <path>', `session file (default: ${defaultStorePath()})`)
}

export function storePathOf(options: StoreOptions): string {
  return resolve(options.store ?? defaultStorePath())
}

export interface AgentSession {
  readonly auth: AuthManager
  readonly store: FileStore
  readonly storePath: string
  readonly issuer: string
  /** Stops the manager, then closes the store once its writes are done. Idempotent. */
  close(): Promise<void>
}

function reportCorrupt(output: Output) {
  return (error: CorruptFileError) => output.streams.err.write(`countersign: warning: ${error.message}; starting with an empty session\n`)
}

/**
 * The record the store holds, read without the writer lock, so it works
 * while another process (a `watch`, the demo) holds the file.
 */
export async function peekSession(storePath: string, output: Output): Promise<SessionRecord | null> {
  const store = new FileStore(storePath, { readOnly: true, onCorrupt: reportCorrupt(output) })
  try {
    return await store.load()
  } finally {
    await store.close()
  }
}

/** Takes the store's writer lock and starts a manager on it (nothing is sent yet). */
export async function openSession(storePath: string, issuer: string, output: Output): Promise<AgentSession> {
  const store = new FileStore(storePath, { onCorrupt: reportCorrupt(output) })
  try {
    await store.open()
  } catch (error) {
    await store.close()
    throw error
  }
  const settling = new SettlingStore(store)
  const auth = new AuthManager(issuer, settling, { logger: runtimeLogger(output) })
  let closing: Promise<void> | null = null
  return {
    auth,
    store,
    storePath,
    issuer,
    close() {
      closing ??= (async () => {
        await settling.settled()
        auth.dispose()
        await store.close()
      })()
      return closing
    },
  }
}

/** The runtime's warnings (a restore that fell back, a failed save) as one stderr line each, in every mode. */
export function runtimeLogger(output: Output): AuthLogger {
  const warn = (message: string) => void output.streams.err.write(`${message.startsWith('countersign:') ? message : `countersign: ${message}`}\n`)
  return { warn, error: warn }
}

/** The server a stored session belongs to, or a no-session error. */
export function issuerOf(record: SessionRecord | null, storePath: string): string {
  if (record === null) throw noSession(storePath)
  if (record.issuer === null) throw noSession(storePath, 'the stored session names no server')
  return record.issuer
}

/** The no-session error, saying why the last session or approval ended when the manager knows. */
export async function noSessionOf(auth: AuthManager, storePath: string): Promise<CountersignError> {
  const { failure } = await firstValueFrom(auth.session$)
  return noSession(storePath, failure ? `the last one ended: ${failure.message}` : undefined)
}

export function noSession(storePath: string, detail?: string): CountersignError {
  return new CountersignError(
    ErrorCodes.NOT_AUTHENTICATED,
    `no session in ${storePath}${detail ? ` (${detail})` : ''}: run "countersign register --server URL --name NAME" or "countersign login --server URL --agent-id ID" first`,
  )
}

export function isFileLocked(error: unknown): boolean {
  return error instanceof CountersignError && error.code === ErrorCodes.FILE_LOCKED
}

/** Whether a record holds credentials, which a new register or login would throw away. */
export function holdsCredentials(record: SessionRecord | null): boolean {
  return record !== null && (record.accessToken !== null || record.refreshToken !== null)
}
