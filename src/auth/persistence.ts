/**
 * One serialized save queue per manager. Every transition asks for a save;
 * saves never overlap, and a save that starts reads the newest snapshot, so
 * a burst of transitions costs one write per running save, not one each.
 * `request()` resolves once a write that started after the call is durable:
 * the `persist` effect waits on it, which is how a token set reaches the
 * store before anyone sees it.
 *
 * Writes are compare-and-set against the version this manager last saw. On a
 * conflict (someone else wrote the shared store) the queue reads the store,
 * tells the manager, and writes once more from the manager's newest state.
 */
import { ErrorCodes } from '../errors.js'
import type { SessionInput, SessionRecord, SessionStore } from '../../stores/contract.js'

/** What the manager wants in the store now. `covers` is the live snapshot the write was built from. */
export type PendingWrite =
  | { kind: 'save'; record: SessionInput; covers: unknown }
  | { kind: 'clear'; covers: unknown }
  | { kind: 'none'; covers: unknown }

export interface SaveSource {
  nextWrite(): PendingWrite
  /**
   * The store holds something this manager did not write. True: write again
   * over it; false: drop this write (the manager's state is older than what
   * the store holds, and it will adopt the stored one instead).
   */
  onConflict(current: SessionRecord | null, write: PendingWrite): boolean
}

interface Deferred {
  promise: Promise<void>
  resolve(): void
  reject(error: unknown): void
}

function deferred(): Deferred {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Transition saves do not wait for their write; a failure is reported by the manager, not as an unhandled rejection.
  promise.catch(() => {})
  return { promise, resolve, reject }
}

export class SaveQueue {
  /** The store version this manager last wrote or read; 0 for "no record". */
  version = 0
  /** The record last written or read, as the store handed it back. */
  lastRecord: SessionRecord | null = null
  /** The live snapshot the last successful write was built from. */
  lastCovered: unknown = undefined
  readonly #store: SessionStore
  readonly #source: SaveSource
  #running: Promise<void> | null = null
  #next: Deferred | null = null

  constructor(store: SessionStore, source: SaveSource) {
    this.#store = store
    this.#source = source
  }

  /** Asks for a save of the manager's state as it is when the save starts. */
  request(): Promise<void> {
    this.#next ??= deferred()
    const { promise } = this.#next
    this.#running ??= this.#pump()
    return promise
  }

  /** Resolves when no write is running or waiting. */
  async whenIdle(): Promise<void> {
    while (this.#running !== null) await this.#running
  }

  get idle(): boolean {
    return this.#running === null
  }

  async #pump(): Promise<void> {
    // A turn later, so the transitions of one macrostep share the write.
    await Promise.resolve()
    while (this.#next !== null) {
      const waiting = this.#next
      this.#next = null
      try {
        await this.#writeOnce()
        waiting.resolve()
      } catch (error) {
        waiting.reject(error)
      }
    }
    this.#running = null
  }

  async #writeOnce(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const write = this.#source.nextWrite()
      try {
        if (write.kind === 'save') {
          const saved = await this.#store.save(write.record, { expectedVersion: this.version })
          this.version = saved.version
          this.lastRecord = saved
        } else if (write.kind === 'clear' && (this.version !== 0 || this.lastRecord !== null)) {
          await this.#store.clear({ expectedVersion: this.version })
          // The version after a clear is not handed back; 0 matches a cleared store in the next compare-and-set.
          this.version = 0
          this.lastRecord = null
        }
        this.lastCovered = write.covers
        return
      } catch (error) {
        if (attempt > 0 || (error as { code?: unknown })?.code !== ErrorCodes.STORE_CONFLICT) throw error
        const current = await this.#store.load()
        this.version = current?.version ?? 0
        this.lastRecord = current
        if (!this.#source.onConflict(current, write)) {
          this.lastCovered = undefined
          return
        }
      }
    }
  }
}
