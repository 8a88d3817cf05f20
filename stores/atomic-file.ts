/**
 * A lowdb adapter that writes JSON files the way credentials deserve:
 * mode 0600, a temp file with a unique name in the same folder, fsync, then an
 * atomic rename, so a reader sees either the old file or the new one, never a
 * torn one. A file that does not parse is reported with its path and left as
 * it is; it is never overwritten.
 *
 * Writes from one process are coalesced: while one write is on its way, later
 * calls wait for a single follow-up write carrying the newest data.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Adapter } from 'lowdb'
import { CorruptFileError } from '../src/errors.js'
import { isAlive } from './lock.js'

/**
 * How old a temp file of a live pid must be to count as left behind: a write
 * takes milliseconds, and the pid may be another process's by now, or a
 * process on another host sharing the folder.
 */
export const ORPHANED_TEMP_AGE_MS = 10 * 60_000

export interface AtomicJsonFileOptions<T> {
  /** Checks the parsed data; return false or throw to have the file treated as corrupt. */
  validate?: (data: unknown) => data is T
  /** File mode of the written file. Default 0o600. */
  mode?: number
  /** Indentation of the JSON text. Default 2 (the files are meant to be readable). */
  indent?: number
}

export class AtomicJsonFile<T> implements Adapter<T> {
  readonly path: string
  readonly #validate: ((data: unknown) => data is T) | undefined
  readonly #mode: number
  readonly #indent: number
  #inFlight: Promise<void> | null = null
  /** Set once the folder is known to exist; later writes skip the mkdir. */
  #folderReady = false
  #next: PendingWrite<T> | null = null
  /** Text `prepare()` made, for the write of that very object. */
  readonly #prepared = new WeakMap<object, string>()

  constructor(path: string, options: AtomicJsonFileOptions<T> = {}) {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string')
    this.path = path
    this.#validate = options.validate
    this.#mode = options.mode ?? 0o600
    this.#indent = options.indent ?? 2
  }

  async read(): Promise<T | null> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch (cause) {
      throw new CorruptFileError(this.path, { cause })
    }
    if (this.#validate) {
      let ok: boolean
      try {
        ok = this.#validate(data)
      } catch (cause) {
        throw new CorruptFileError(this.path, { cause })
      }
      if (!ok) throw new CorruptFileError(this.path, { cause: new Error('the data does not have the expected shape') })
    }
    return data as T
  }

  /**
   * The next write of this very object writes `text`, its serialization as
   * this adapter makes it (`JSON.stringify(data, null, indent)` and a line
   * break), made by a caller that had it already: the data is not
   * serialized again.
   */
  prepare(data: T & object, text: string): void {
    this.#prepared.set(data, text)
  }

  #serialize(data: T): string {
    return JSON.stringify(data, null, this.#indent) + '\n'
  }

  #textOf(data: T): string {
    if (typeof data !== 'object' || data === null) return this.#serialize(data)
    const text = this.#prepared.get(data)
    if (text === undefined) return this.#serialize(data)
    this.#prepared.delete(data)
    return text
  }

  write(data: T): Promise<void> {
    if (this.#inFlight === null) {
      this.#inFlight = this.#writeNow(data).finally(() => this.#afterWrite())
      return this.#inFlight
    }
    // A write is on its way: fold this one into the single next write.
    if (this.#next === null) this.#next = new PendingWrite(data)
    else this.#next.data = data
    return this.#next.done
  }

  #afterWrite(): void {
    const next = this.#next
    this.#next = null
    if (next === null) {
      this.#inFlight = null
      return
    }
    const write = this.#writeNow(next.data)
    write.then(next.resolve, next.reject)
    this.#inFlight = write.finally(() => this.#afterWrite())
    this.#inFlight.catch(() => {}) // reported through next.done
  }

  async #writeNow(data: T): Promise<void> {
    const text = this.#textOf(data)
    const dir = dirname(this.path)
    if (!this.#folderReady) {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      this.#folderReady = true
    }
    const temp = tempPathOf(this.path)
    const handle = await open(temp, 'wx', this.#mode).catch(async (error: NodeJS.ErrnoException) => {
      // The folder was removed since the first write: make it again, once.
      if (error.code !== 'ENOENT') throw error
      await mkdir(dir, { recursive: true, mode: 0o700 })
      return open(temp, 'wx', this.#mode)
    })
    try {
      await handle.writeFile(text, 'utf8')
      // The data must be on disk before the rename makes it the file; its metadata need not be.
      await handle.datasync()
    } catch (error) {
      await handle.close().catch(() => {})
      await unlink(temp).catch(() => {})
      throw error
    }
    await handle.close()
    try {
      await rename(temp, this.path)
    } catch (error) {
      await unlink(temp).catch(() => {})
      throw error
    }
    await syncDirectory(dir)
  }
}

/** Where one write puts its data first: beside the file, named after the writing process and unique to the write. */
export function tempPathOf(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
}

/**
 * Removes the temp files of `path` that a writer killed between writing and
 * renaming left behind (they may hold credentials): those whose pid is not
 * alive on this host, and those older than `ORPHANED_TEMP_AGE_MS` whatever
 * their pid. Only for a caller that holds the file's writer lock, so no
 * writer of its own is mid-write. Other names (lowdb's fixed `.<name>.tmp`,
 * other files' temps) are left alone. Resolves with the paths removed.
 */
export async function removeOrphanedTemps(path: string, now: () => number = Date.now): Promise<string[]> {
  const dir = dirname(path)
  const prefix = `.${basename(path)}.`
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return [] // no folder yet, or none we may list: nothing we could remove
  }
  const removed: string[] = []
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const match = /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length))
    if (match === null) continue
    const temp = join(dir, name)
    try {
      if (isAlive(Number(match[1])) && now() - (await stat(temp)).mtimeMs <= ORPHANED_TEMP_AGE_MS) continue
      await unlink(temp)
      removed.push(temp)
    } catch {
      // Gone meanwhile, or not ours to remove: the next open tries again.
    }
  }
  return removed
}

/** Data waiting for the write after the current one, and the callers' promise. */
class PendingWrite<T> {
  data: T
  readonly done: Promise<void>
  resolve!: () => void
  reject!: (error: unknown) => void
  constructor(data: T) {
    this.data = data
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }
}

/** Makes a rename durable; some platforms cannot open a folder, which is fine. */
async function syncDirectory(dir: string): Promise<void> {
  let handle
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => {})
  }
}
