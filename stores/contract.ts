/**
 * The session-store contract: what every built-in backend (memory, file, and
 * later Redis or an encrypted file) offers the runtime.
 *
 * One store holds one agent's session as a single record. It was shaped for a
 * shared backend such as Redis from the start:
 *
 * - **Versioned records.** The store numbers every change (save or clear) with
 *   a version that only grows, also across `clear()`, so an old version never
 *   comes back (no ABA). An empty store that never held a record is version 0.
 * - **Compare-and-set.** `save(record, { expectedVersion })` succeeds only when
 *   the store's current version is `expectedVersion` (0: "no record yet", which
 *   also matches a cleared store); otherwise it rejects with a
 *   `CountersignError` of code `store_conflict` and changes nothing.
 * - **A change feed.** `watch(listener)` reports every change after it is
 *   durable, asynchronously, including changes made by other processes on the
 *   same backend (`origin: 'remote'`).
 * - **Leases.** `acquireLease(name, ttlMs)` gives at most one live holder per
 *   name across every process that shares the backend, so only one of them
 *   refreshes a token. A lease ends at `release()` or at `expiresAt`.
 *
 * Records are replaced whole, never merged. A record handed out by a store is
 * frozen; the machine snapshot inside it is opaque JSON the store only keeps.
 */

/** The persisted state of the lifecycle machine. The store does not look inside `snapshot`. */
export interface MachineEnvelope {
  /** Version of the snapshot's schema, chosen by the runtime. */
  readonly schemaVersion: number
  /** When the runtime took the snapshot, epoch ms. */
  readonly savedAt: number
  /** Any JSON value. */
  readonly snapshot: unknown
}

/** Everything a session consists of. Absent parts are `null`. */
export interface SessionData {
  readonly agentId: string | null
  readonly accessToken: string | null
  readonly refreshToken: string | null
  /** Epoch ms. */
  readonly accessExpiresAt: number | null
  /** Epoch ms. */
  readonly refreshExpiresAt: number | null
  /** Space-separated scopes granted. */
  readonly scope: string | null
  /** The issuer (server base URL) the tokens belong to. */
  readonly issuer: string | null
  readonly machine: MachineEnvelope | null
}

/** What `save()` accepts: a session whose omitted fields are stored as `null`. */
export type SessionInput = { readonly [K in keyof SessionData]?: SessionData[K] | undefined } & {
  /** Ignored by `save()`, so a loaded record can be passed back; the CAS version goes in the options. */
  readonly version?: number | undefined
}

/** A stored session, as `load()` and `save()` return it. Frozen. */
export interface SessionRecord extends SessionData {
  /** The store's version of this record (≥ 1). */
  readonly version: number
}

/** Options of `save()` and `clear()`. */
export interface WriteOptions {
  /**
   * Compare-and-set: the version the caller last saw (0 for "no record").
   * Omitted: the write happens whatever the store holds.
   */
  expectedVersion?: number
}

/** One change, as `watch()` reports it. */
export interface SessionChange {
  /** The store's version after the change. */
  readonly version: number
  /** The record now held; `null` after a clear. */
  readonly record: SessionRecord | null
  /** `local`: this store object made the change; `remote`: another one (another process) did. */
  readonly origin: 'local' | 'remote'
}

/** Told of each change after it is durable, asynchronously. */
export type SessionChangeListener = (change: SessionChange) => void

/** A lease held on a name until `release()` or `expiresAt`, whichever comes first. */
export interface Lease {
  readonly name: string
  /** Epoch ms, by the store's clock. */
  readonly expiresAt: number
  /** Ends the lease. Idempotent; never ends a lease someone else took after this one expired. */
  release(): Promise<void>
}

/** The contract every built-in session store implements: versioned records, compare-and-set, a change feed and leases (see the module notes above). */
export interface SessionStore {
  /** The current record, or `null` when the store holds none. */
  load(): Promise<SessionRecord | null>
  /** Replaces the record; resolves with the stored, versioned record once it is durable. */
  save(record: SessionInput, options?: WriteOptions): Promise<SessionRecord>
  /** Removes the record (the version still grows). */
  clear(options?: WriteOptions): Promise<void>
  /** Subscribes to changes; returns the function that unsubscribes. A throwing listener harms no one else. */
  watch(listener: SessionChangeListener): () => void
  /** The lease on `name` for `ttlMs`, or `null` while someone else holds a live one. */
  acquireLease(name: string, ttlMs: number): Promise<Lease | null>
  /** Finishes pending writes and frees what the store holds (locks, watchers, timers). Idempotent. */
  close(): Promise<void>
}

/** True for objects that implement the session-store contract. */
export function isSessionStore(value: unknown): value is SessionStore {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  return ['load', 'save', 'clear', 'watch', 'acquireLease', 'close'].every((name) => typeof candidate[name] === 'function')
}
