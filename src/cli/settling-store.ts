/**
 * A session store that knows when the manager's writes are done, so a
 * command can stop its AuthManager without losing the last one.
 *
 * `AuthManager.dispose()` stops at once: a save the runtime has asked for but
 * not yet begun (the denial that clears a pending approval, the pending
 * approval itself after `register --no-wait`) would never reach the file.
 * The runtime's save queue starts each write a few microtasks after the
 * transition that asked for it and the next one right after the previous
 * one, so once a full turn of the event loop passes with no write in
 * flight, none is waiting either.
 */
import type { Lease, SessionChangeListener, SessionInput, SessionRecord, SessionStore, WriteOptions } from '../../stores/contract.js'

export class SettlingStore implements SessionStore {
  readonly readOnly = false
  readonly #inner: SessionStore
  #inFlight = 0

  constructor(inner: SessionStore) {
    this.#inner = inner
  }

  load(): Promise<SessionRecord | null> {
    return this.#inner.load()
  }

  save(record: SessionInput, options?: WriteOptions): Promise<SessionRecord> {
    return this.#track(this.#inner.save(record, options))
  }

  clear(options?: WriteOptions): Promise<void> {
    return this.#track(this.#inner.clear(options))
  }

  watch(listener: SessionChangeListener): () => void {
    return this.#inner.watch(listener)
  }

  acquireLease(name: string, ttlMs: number): Promise<Lease | null> {
    return this.#inner.acquireLease(name, ttlMs)
  }

  close(): Promise<void> {
    return this.#inner.close()
  }

  /** Resolves once a turn of the event loop passed with no write in flight, or after `timeoutMs`. */
  async settled(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve))
      if (this.#inFlight === 0 || Date.now() >= deadline) return
      // A write is running: wait for some write to end, then look again.
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  #track<T>(write: Promise<T>): Promise<T> {
    this.#inFlight++
    const done = () => this.#inFlight--
    write.then(done, done)
    return write
  }
}
