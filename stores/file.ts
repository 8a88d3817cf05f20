/**
 * A session kept in one JSON file, through lowdb's `Low` over our
 * AtomicJsonFile adapter (mode 0600, unique temp file, fsync, rename).
 *
 * One writer process per file: the first use of a writing store takes the
 * file's writer lock (stores/lock.ts) and holds it until `close()`; a second
 * live process gets `file_locked`. Holding the lock, it removes the temp
 * files a killed writer left behind. Because that lock shuts other processes
 * out, the writer's memory is the truth, compare-and-set is checked against
 * it, and its leases are kept in process.
 *
 * A store opened with `readOnly: true` takes no lock: it reads the file on
 * every `load()` and, while someone watches, follows the file so the changes
 * the writer process makes arrive on its change feed as `remote`.
 *
 * A file that does not parse or has the wrong shape is moved aside to
 * `<path>.corrupt-<time>-<random>`, reported once through `onCorrupt` (or a
 * process warning when no handler is given), and the store starts empty. It
 * is never overwritten in place.
 */
import { randomBytes } from 'node:crypto'
import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs'
import { rename } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { Low } from 'lowdb'
import { CorruptFileError, type CountersignError } from '../src/errors.js'
import { AtomicJsonFile, removeOrphanedTemps } from './atomic-file.js'
import { ChangeFeed } from './change-feed.js'
import type { Lease, SessionChangeListener, SessionData, SessionInput, SessionRecord, SessionStore, WriteOptions } from './contract.js'
import { LeaseTable } from './lease.js'
import { acquireFileLock, type FileLock, type FileLockOptions } from './lock.js'
import {
  checkedSessionData,
  checkExpectedVersion,
  closedError,
  expectedVersionOf,
  isSessionData,
  pickSessionData,
  serializeSnapshot,
  toRecord,
  toRecordReadingSnapshot,
} from './session-record.js'

/** Options of `new FileStore(path, options)`. */
export interface FileStoreOptions {
  /** Observe a file another process writes: no lock, no writes. Default false. */
  readOnly?: boolean
  /** Told once about a corrupt file, after it was moved aside. Default: a process warning. */
  onCorrupt?: (error: CorruptFileError) => void
  /** Clock for lease expiry, epoch ms. Default `Date.now`. */
  now?: () => number
  /** Settings of the writer lock. */
  lock?: Pick<FileLockOptions, 'staleMs' | 'unnamedStaleMs' | 'now'>
}

/** The file's content. `format` lets a newer release tell its files apart. */
interface FileDocument {
  format: 'countersign-session'
  formatVersion: 1
  version: number
  session: SessionData | null
}

/** A session kept in one JSON file (mode 0600, one writer process at a time); see the module notes above. */
export class FileStore implements SessionStore {
  readonly path: string
  readonly readOnly: boolean
  readonly #options: FileStoreOptions
  readonly #low: Low<FileDocument>
  readonly #file: AtomicJsonFile<FileDocument>
  #opening: Promise<void> | null = null
  #lock: FileLock | null = null
  #record: SessionRecord | null = null
  #version = 0
  #writes: Promise<unknown> = Promise.resolve()
  #reads: Promise<unknown> = Promise.resolve()
  #loaded = false
  #closing: Promise<void> | null = null
  #lockLost: CountersignError | null = null
  #corruptReported = false
  #feed: ChangeFeed | null = null
  #leases: LeaseTable | null = null
  #follower: Follower | null = null

  constructor(path: string, options: FileStoreOptions = {}) {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string')
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    if (options.onCorrupt !== undefined && typeof options.onCorrupt !== 'function') throw new TypeError('options.onCorrupt must be a function')
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('options.now must be a function returning epoch ms')
    this.path = resolve(path)
    this.readOnly = options.readOnly === true
    this.#options = options
    this.#file = new AtomicJsonFile<FileDocument>(this.path, { validate: isFileDocument, indent: INDENT })
    this.#low = new Low<FileDocument>(this.#file, emptyDocument())
  }

  /** Takes the lock and reads the file. Every other method does this first; call it to fail early. */
  open(): Promise<void> {
    if (this.#closing) return Promise.reject(closedError())
    this.#opening ??= this.#openNow().catch((error: unknown) => {
      this.#opening = null // a failed open (file_locked, EACCES) may be retried
      throw error
    })
    return this.#opening
  }

  async load(): Promise<SessionRecord | null> {
    await this.open()
    if (this.readOnly) await this.#refresh()
    return this.#record
  }

  /**
   * The session is serialized once, when save() is called (so later changes
   * to the input do not count), and that text goes into the file; the record
   * handed back parses its snapshot from it only if someone looks into it.
   */
  async save(record: SessionInput, options?: WriteOptions): Promise<SessionRecord> {
    const data = checkedSessionData(record)
    const sessionText = serializeSnapshot(() => JSON.stringify(data, null, INDENT))
    const expected = expectedVersionOf(options)
    this.#assertWritable()
    await this.open()
    return this.#serialize(async () => {
      this.#assertHoldingLock()
      checkExpectedVersion(expected, this.#version, this.#record !== null)
      const version = this.#version + 1
      const document: FileDocument = { ...emptyDocument(), version, session: data }
      this.#file.prepare(document, documentText(version, sessionText))
      await this.#write(document)
      const saved = toRecordReadingSnapshot(data, version, () => (JSON.parse(sessionText) as SessionData).machine!.snapshot)
      this.#commit(version, saved)
      return saved
    })
  }

  async clear(options?: WriteOptions): Promise<void> {
    const expected = expectedVersionOf(options)
    this.#assertWritable()
    await this.open()
    await this.#serialize(async () => {
      this.#assertHoldingLock()
      checkExpectedVersion(expected, this.#version, this.#record !== null)
      const version = this.#version + 1
      await this.#write({ ...emptyDocument(), version })
      this.#commit(version, null)
    })
  }

  watch(listener: SessionChangeListener): () => void {
    if (this.#closing) throw closedError()
    this.#feed ??= new ChangeFeed()
    const unsubscribe = this.#feed.add(listener)
    if (this.readOnly && this.#follower === null) {
      const refresh = (): void => void this.#refresh().catch(() => {})
      this.#follower = follow(this.path, refresh)
      refresh() // the baseline later changes are told against
    }
    return () => {
      unsubscribe()
      if (this.#feed?.size === 0) this.#stopFollowing()
    }
  }

  async acquireLease(name: string, ttlMs: number): Promise<Lease | null> {
    this.#assertWritable()
    await this.open()
    this.#leases ??= new LeaseTable(this.#options.now ?? Date.now)
    return this.#leases.acquire(name, ttlMs)
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeNow()
    return this.#closing
  }

  async #closeNow(): Promise<void> {
    this.#stopFollowing()
    this.#feed?.clear()
    this.#leases?.clear()
    await this.#opening?.catch(() => {})
    await this.#writes
    await this.#lock?.release()
    this.#lock = null
  }

  async #openNow(): Promise<void> {
    if (!this.readOnly) {
      this.#lock = await acquireFileLock(this.path, {
        ...this.#options.lock,
        onLost: (error) => {
          this.#lockLost = error
          process.emitWarning(error.message, { type: 'CountersignWarning', code: 'COUNTERSIGN_LOCK_LOST' })
        },
      })
      // Temp files of a writer killed between write and rename hold tokens; with the lock held, none is in use.
      await removeOrphanedTemps(this.path, this.#options.lock?.now)
    }
    try {
      await this.#refresh()
    } catch (error) {
      await this.#lock?.release()
      this.#lock = null
      throw error
    }
  }

  /** Reads the file into memory, one read after another; a new version after the first read is a remote change. */
  #refresh(): Promise<void> {
    const read = this.#reads.then(() => this.#readNow())
    this.#reads = read.catch(() => {})
    return read
  }

  async #readNow(): Promise<void> {
    let document: FileDocument
    try {
      // Not Low.read(): it keeps the old data when the file is gone.
      document = (await this.#low.adapter.read()) ?? emptyDocument()
      this.#low.data = document
      this.#corruptReported = false
    } catch (error) {
      if (!(error instanceof CorruptFileError)) throw error
      await this.#setAside(error)
      document = emptyDocument()
      this.#low.data = document
    }
    const first = !this.#loaded
    this.#loaded = true
    if (!first && document.version === this.#version) return
    this.#version = document.version
    this.#record = document.session === null ? null : toRecord(pickSessionData(document.session), document.version)
    if (!first) this.#feed?.emit({ version: this.#version, record: this.#record, origin: 'remote' })
  }

  async #setAside(error: CorruptFileError): Promise<void> {
    if (this.readOnly) {
      // Not ours to move: the writer will. Report once until the file reads well again.
      if (!this.#corruptReported) this.#reportCorrupt(error)
      return
    }
    const keptAt = `${this.path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`
    await rename(this.path, keptAt)
    this.#reportCorrupt(new CorruptFileError(this.path, { keptAt, cause: error.cause }))
  }

  #reportCorrupt(error: CorruptFileError): void {
    this.#corruptReported = true
    const onCorrupt = this.#options.onCorrupt
    if (onCorrupt === undefined) {
      process.emitWarning(error.message, { type: 'CountersignWarning', code: 'COUNTERSIGN_CORRUPT_FILE' })
      return
    }
    try {
      onCorrupt(error)
    } catch {
      process.emitWarning(`the onCorrupt handler threw; ${error.message}`, { type: 'CountersignWarning', code: 'COUNTERSIGN_CORRUPT_FILE' })
    }
  }

  async #write(document: FileDocument): Promise<void> {
    const previous = this.#low.data
    this.#low.data = document
    try {
      await this.#low.write()
    } catch (error) {
      this.#low.data = previous
      throw error
    }
  }

  #commit(version: number, record: SessionRecord | null): void {
    this.#version = version
    this.#record = record
    this.#feed?.emit({ version, record, origin: 'local' })
  }

  /** Writes run one after another, so each compare-and-set sees the previous write's result. */
  #serialize<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(step)
    this.#writes = run.catch(() => {})
    return run
  }

  #assertWritable(): void {
    if (this.#closing) throw closedError()
    if (this.readOnly) throw new TypeError(`store was opened read-only (readOnly: true) and cannot write ${this.path}`)
  }

  /** Inside a write step: the lock may have been released (close) or lost since the step was queued. */
  #assertHoldingLock(): void {
    if (this.#lockLost) throw this.#lockLost
    if (this.#lock === null) throw closedError()
  }

  #stopFollowing(): void {
    this.#follower?.stop()
    this.#follower = null
  }
}

interface Follower {
  stop(): void
}

/**
 * Calls `onChange` when the file may have changed. The folder is watched, not
 * the file: every write renames a new file over the old one.
 */
function follow(path: string, onChange: () => void): Follower {
  const name = basename(path)
  let watcher: FSWatcher
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (filename === null || filename === name) onChange()
    })
  } catch {
    // No folder yet, or a file system without change events: poll instead.
    watchFile(path, { persistent: false, interval: 500 }, onChange)
    return { stop: () => unwatchFile(path, onChange) }
  }
  watcher.on('error', () => {
    watcher.close()
  })
  return { stop: () => watcher.close() }
}

/** Indentation of the file: it is meant to be readable. */
const INDENT = 2

/**
 * The file's text for a session already serialized with INDENT: exactly
 * `JSON.stringify(document, null, INDENT)` and a line break. JSON text holds
 * no raw line break (strings escape theirs), so indenting its lines one
 * level deeper is exact.
 */
function documentText(version: number, sessionText: string | null): string {
  const session = sessionText === null ? 'null' : sessionText.replace(/\n/g, '\n  ')
  return `{\n  "format": "countersign-session",\n  "formatVersion": 1,\n  "version": ${version},\n  "session": ${session}\n}\n`
}

function emptyDocument(): FileDocument {
  return { format: 'countersign-session', formatVersion: 1, version: 0, session: null }
}

function isFileDocument(value: unknown): value is FileDocument {
  if (typeof value !== 'object' || value === null) return false
  const document = value as Record<string, unknown>
  return (
    document.format === 'countersign-session' &&
    document.formatVersion === 1 &&
    Number.isSafeInteger(document.version) && (document.version as number) >= 0 &&
    (document.session === null ? true : isSessionData(document.session) && (document.version as number) >= 1)
  )
}
