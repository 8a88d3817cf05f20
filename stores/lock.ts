/**
 * One writer process per file: a lock file `<path>.lock` beside the data file,
 * created exclusively and holding `{ pid, host, token, acquiredAt }`.
 *
 * A dead process cannot hold it forever. On the same host, a holder whose pid
 * is gone (or is our own pid, from an earlier life of this container, but not
 * a lock this process holds) is taken over at once. Otherwise the lock is
 * stale when its mtime is older than `staleMs`; a live holder touches it every
 * `staleMs / 3`, so only a holder that stopped running ages out.
 *
 * A lock file whose owner cannot be read (empty, because its creator was
 * killed between creating it and writing its owner, or junk) names nobody who
 * could still be alive, so it is judged by a much shorter age, `unnamedStaleMs`
 * (default 500 ms): a creator writes its owner within microseconds of creating
 * the file. So that a creator stalled for longer than that in between can
 * never become a second writer, a creator reads the lock back after writing
 * and counts it as held only when it still names it.
 *
 * Taking over a stale lock is itself guarded: the taker first creates, with
 * the same exclusive protocol, a marker named after the stale holder's token.
 * Of several processes that find the same stale lock at the same moment only
 * one creates that marker; it removes the stale lock only if it is still the
 * one it inspected, and the others report the file as locked.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, stat, unlink, utimes } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, resolve } from 'node:path'
import { CountersignError, ErrorCodes } from '../src/errors.js'

/** Options of `acquireFileLock()`. */
export interface FileLockOptions {
  /** Age of an untouched lock, in ms, after which it counts as abandoned. Default 10 000. */
  staleMs?: number
  /**
   * Age, in ms, after which a lock file that names no owner (empty or unreadable) counts as abandoned.
   * Default 500, and never more than `staleMs`.
   */
  unnamedStaleMs?: number
  /** Clock the staleness check compares mtimes with (epoch ms). Default `Date.now`. */
  now?: () => number
  /** Called once if the lock is found taken over or deleted while held. */
  onLost?: (error: CountersignError) => void
}

/** The writer lock of one file, held until `release()`. */
export interface FileLock {
  /** The file this lock guards. */
  readonly path: string
  /** The lock file beside it. */
  readonly lockPath: string
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>
}

interface LockOwner {
  pid: number
  host: string
  token: string
  acquiredAt: number
}

interface Inspection {
  owner: LockOwner | undefined
  mtimeMs: number
  /** Tells this lock file apart from any later one at the same path. */
  fingerprint: string
}

interface Settings {
  staleMs: number
  unnamedStaleMs: number
  now: () => number
}

type Attempt = { owner: LockOwner } | { blockedBy: LockOwner | undefined }

const localHost = hostname()
/** Tokens of every lock file this process created and still holds. */
const heldTokens = new Set<string>()
/** Lock paths this process holds or is acquiring, so two callers in one process exclude each other. */
const claimedPaths = new Set<string>()
const MAX_TAKEOVER_DEPTH = 2

/** Takes the writer lock of `path`, or throws CountersignError `file_locked` naming the file. */
export async function acquireFileLock(path: string, options: FileLockOptions = {}): Promise<FileLock> {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string')
  const staleMs = options.staleMs ?? 10_000
  if (typeof staleMs !== 'number' || !Number.isFinite(staleMs) || staleMs <= 0) throw new TypeError('options.staleMs must be a positive number of milliseconds')
  const unnamedStaleMs = Math.min(options.unnamedStaleMs ?? 500, staleMs)
  if (typeof unnamedStaleMs !== 'number' || !Number.isFinite(unnamedStaleMs) || unnamedStaleMs <= 0) throw new TypeError('options.unnamedStaleMs must be a positive number of milliseconds')
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('options.now must be a function returning epoch ms')
  if (options.onLost !== undefined && typeof options.onLost !== 'function') throw new TypeError('options.onLost must be a function')
  const target = resolve(path)
  const lockPath = `${target}.lock`
  if (claimedPaths.has(lockPath)) throw lockedError(target, { pid: process.pid, host: localHost, token: '', acquiredAt: 0 })
  claimedPaths.add(lockPath)
  try {
    // Same folder mode as the data file's writer uses: it holds credentials.
    await mkdir(dirname(target), { recursive: true, mode: 0o700 })
    const attempt = await take(lockPath, { staleMs, unnamedStaleMs, now: options.now ?? Date.now }, 0)
    if ('blockedBy' in attempt) throw lockedError(target, attempt.blockedBy)
    return new HeldLock(target, lockPath, attempt.owner, staleMs, options.onLost)
  } catch (error) {
    claimedPaths.delete(lockPath)
    throw error
  }
}

class HeldLock implements FileLock {
  readonly path: string
  readonly lockPath: string
  readonly #owner: LockOwner
  readonly #onLost: ((error: CountersignError) => void) | undefined
  readonly #heartbeat: NodeJS.Timeout
  #beating = false
  #released = false

  constructor(path: string, lockPath: string, owner: LockOwner, staleMs: number, onLost: FileLockOptions['onLost']) {
    this.path = path
    this.lockPath = lockPath
    this.#owner = owner
    this.#onLost = onLost
    this.#heartbeat = setInterval(() => void this.#touch(), Math.max(1, Math.floor(staleMs / 3)))
    this.#heartbeat.unref()
  }

  async #touch(): Promise<void> {
    if (this.#beating || this.#released) return
    this.#beating = true
    try {
      const current = await inspect(this.lockPath)
      if (this.#released) return
      if (current?.owner?.token !== this.#owner.token) {
        this.#stop()
        this.#onLost?.(new CountersignError(ErrorCodes.FILE_LOCKED, `the writer lock of ${this.path} was taken over or removed while this process held it`))
        return
      }
      const now = new Date()
      await utimes(this.lockPath, now, now)
    } catch {
      // A failed touch is retried at the next beat; only a lost lock is reported.
    } finally {
      this.#beating = false
    }
  }

  #stop(): void {
    clearInterval(this.#heartbeat)
    heldTokens.delete(this.#owner.token)
    claimedPaths.delete(this.lockPath)
  }

  async release(): Promise<void> {
    if (this.#released) return
    this.#released = true
    this.#stop()
    await removeIfOwned(this.lockPath, this.#owner.token)
  }
}

async function take(lockPath: string, settings: Settings, depth: number): Promise<Attempt> {
  let seen: Inspection | null = null
  for (let round = 0; round < 3; round++) {
    const owner: LockOwner = { pid: process.pid, host: localHost, token: randomBytes(12).toString('hex'), acquiredAt: Date.now() }
    if (await createExclusive(lockPath, owner)) return { owner }
    seen = await inspect(lockPath)
    if (seen === null) continue // released in between: try again
    if (!isStale(seen, settings) || depth >= MAX_TAKEOVER_DEPTH) return { blockedBy: seen.owner }
    const marker = await take(`${lockPath}.takeover-${seen.fingerprint}`, settings, depth + 1)
    if ('blockedBy' in marker) return { blockedBy: seen.owner } // someone else is taking it over
    try {
      const again = await inspect(lockPath)
      if (again !== null && again.fingerprint === seen.fingerprint) await unlinkQuietly(lockPath)
    } finally {
      heldTokens.delete(marker.owner.token)
      await removeIfOwned(`${lockPath}.takeover-${seen.fingerprint}`, marker.owner.token)
    }
  }
  return { blockedBy: seen?.owner }
}

async function createExclusive(lockPath: string, owner: LockOwner): Promise<boolean> {
  let handle
  try {
    handle = await open(lockPath, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  // Registered before the content lands, so our own check never calls it stale.
  heldTokens.add(owner.token)
  try {
    await handle.writeFile(JSON.stringify(owner), 'utf8')
    await handle.sync()
    await handle.close()
  } catch (error) {
    heldTokens.delete(owner.token)
    await handle.close().catch(() => {})
    await removeIfOwned(lockPath, owner.token)
    throw error
  }
  // Stalled between creating and writing for longer than `unnamedStaleMs`, this
  // file may have been judged abandoned and replaced: held only if it names us.
  const after = await inspect(lockPath).catch(() => null)
  if (after?.owner?.token !== owner.token) {
    heldTokens.delete(owner.token)
    return false
  }
  return true
}

async function inspect(lockPath: string): Promise<Inspection | null> {
  let text: string
  let mtimeMs: number
  let size: number
  try {
    ;[text, { mtimeMs, size }] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)])
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  const owner = parseOwner(text)
  return { owner, mtimeMs, fingerprint: owner?.token ?? `unknown-${Math.trunc(mtimeMs)}-${size}` }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner> | null
    if (
      typeof value === 'object' && value !== null &&
      Number.isSafeInteger(value.pid) && typeof value.host === 'string' &&
      typeof value.token === 'string' && /^[0-9a-f]{8,64}$/.test(value.token) &&
      typeof value.acquiredAt === 'number'
    ) return value as LockOwner
  } catch {
    // an empty file (its creator is still writing) or junk: judged by age alone
  }
  return undefined
}

function isStale(seen: Inspection, settings: Settings): boolean {
  const age = settings.now() - seen.mtimeMs
  const owner = seen.owner
  if (owner !== undefined && owner.host === localHost) {
    if (owner.pid === process.pid) return !heldTokens.has(owner.token)
    if (!isAlive(owner.pid)) return true
  }
  if (owner === undefined) return age > settings.unnamedStaleMs
  return age > settings.staleMs
}

/** Whether a process with this pid runs on this host (one that is not ours to signal counts as running). */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function removeIfOwned(lockPath: string, token: string): Promise<void> {
  let current
  try {
    current = await inspect(lockPath)
  } catch {
    return
  }
  if (current?.owner?.token === token) await unlinkQuietly(lockPath)
}

async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error
  })
}

function lockedError(path: string, holder: LockOwner | undefined): CountersignError {
  const who = holder === undefined
    ? 'another process'
    : holder.pid === process.pid && holder.host === localHost
      ? 'this process already'
      : `process ${holder.pid} on ${holder.host === localHost ? 'this host' : `host ${holder.host}`}`
  return new CountersignError(ErrorCodes.FILE_LOCKED, `the file ${path} is in use: ${who} holds its writer lock (${path}.lock)`)
}
