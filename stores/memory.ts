/**
 * The default store: the session lives in this process and ends with it.
 * Small on purpose (one process may run thousands of agents, each with its
 * own store): the feed and the lease table exist only once they are used.
 */
import { ChangeFeed } from './change-feed.js'
import type { Lease, SessionChangeListener, SessionInput, SessionRecord, SessionStore, WriteOptions } from './contract.js'
import { LeaseTable } from './lease.js'
import { checkExpectedVersion, closedError, expectedVersionOf, toRecord, toSessionData } from './session-record.js'

/** Options of `new MemoryStore()`. */
export interface MemoryStoreOptions {
  /** Clock for lease expiry, epoch ms. Default `Date.now`. */
  now?: () => number
}

/** A session store in this process's memory: the default, gone when the process ends. */
export class MemoryStore implements SessionStore {
  #record: SessionRecord | null = null
  #version = 0
  #closed = false
  #feed: ChangeFeed | null = null
  #leases: LeaseTable | null = null
  readonly #now: () => number

  constructor(options: MemoryStoreOptions = {}) {
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('options.now must be a function returning epoch ms')
    this.#now = options.now ?? Date.now
  }

  async load(): Promise<SessionRecord | null> {
    if (this.#closed) throw closedError()
    return this.#record
  }

  async save(record: SessionInput, options?: WriteOptions): Promise<SessionRecord> {
    const data = toSessionData(record)
    const expected = expectedVersionOf(options)
    if (this.#closed) throw closedError()
    checkExpectedVersion(expected, this.#version, this.#record !== null)
    const saved = toRecord(data, ++this.#version)
    this.#record = saved
    this.#feed?.emit({ version: saved.version, record: saved, origin: 'local' })
    return saved
  }

  async clear(options?: WriteOptions): Promise<void> {
    const expected = expectedVersionOf(options)
    if (this.#closed) throw closedError()
    checkExpectedVersion(expected, this.#version, this.#record !== null)
    this.#record = null
    const version = ++this.#version
    this.#feed?.emit({ version, record: null, origin: 'local' })
  }

  watch(listener: SessionChangeListener): () => void {
    if (this.#closed) throw closedError()
    this.#feed ??= new ChangeFeed()
    return this.#feed.add(listener)
  }

  async acquireLease(name: string, ttlMs: number): Promise<Lease | null> {
    if (this.#closed) throw closedError()
    this.#leases ??= new LeaseTable(this.#now)
    return this.#leases.acquire(name, ttlMs)
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#feed?.clear()
    this.#leases?.clear()
  }
}
