/**
 * One refresh for everyone who shares a store. Before asking the server, a
 * manager looks in the store: if another manager (or another process) saved
 * a newer token set, that set is the refresh's result and the server is not
 * asked at all. Otherwise the store's lease decides who refreshes; the others
 * wait for the holder's save to arrive on the change feed and adopt it.
 *
 * A store only this manager can write (its private MemoryStore) skips all of
 * this and refreshes at once.
 */
import { AUTH_SNAPSHOT_SCHEMA_VERSION, type TokenSet } from '../../machines/auth.js'
import type { Clock } from '../clock.js'
import { AbortError } from '../errors.js'
import type { Lease, SessionRecord, SessionStore } from '../../stores/contract.js'
import { snapshotProblem } from './restore.js'
import { tokenSetOfRecord } from './tokens.js'

export const REFRESH_LEASE = 'countersign:refresh'
/** How long one manager may hold the refresh to itself; its save normally ends the lease far sooner. */
export const REFRESH_LEASE_TTL_MS = 30_000

export interface SharedRefreshHost {
  readonly store: SessionStore
  readonly clock: Clock
  /** The published token set, to tell newer from older. */
  readonly currentTokens: TokenSet | null
  /** Takes note that the store's record at `record.version` is now this manager's base. */
  adoptVersion(record: SessionRecord): void
  /** Keeps the lease until the refreshed tokens are saved. */
  holdLease(lease: Lease): void
}

/** A store without leases (a custom one may throw): everyone refreshes, and the server's grace period keeps them in step. */
const noLease: Lease = Object.freeze({ name: REFRESH_LEASE, expiresAt: Number.POSITIVE_INFINITY, release: async () => {} })

export async function sharedRefresh(host: SharedRefreshHost, refreshToken: string, signal: AbortSignal, atServer: () => Promise<TokenSet>): Promise<TokenSet> {
  const giveUpWaitingAt = host.clock.now() + REFRESH_LEASE_TTL_MS
  for (;;) {
    const stored = await storedSuccessor(host, refreshToken)
    if (stored !== null) return stored
    let lease: Lease | null
    try {
      lease = await host.store.acquireLease(REFRESH_LEASE, REFRESH_LEASE_TTL_MS)
    } catch {
      lease = noLease
    }
    if (lease !== null) {
      try {
        // The holder before us may have saved between our look and our lease.
        const again = await storedSuccessor(host, refreshToken)
        if (again !== null) {
          await lease.release()
          return again
        }
        const tokens = await atServer()
        host.holdLease(lease)
        return tokens
      } catch (error) {
        await lease.release().catch(() => {})
        throw error
      }
    }
    if (host.clock.now() >= giveUpWaitingAt) return atServer()
    await nextStoreChange(host, signal, giveUpWaitingAt)
  }
}

/**
 * The newer token set the store holds when someone else saved one: a set
 * with another refresh token that lives longer than this manager's. Null
 * when the store holds this manager's own tokens or older ones.
 */
export async function storedSuccessor(host: SharedRefreshHost, refreshToken: string): Promise<TokenSet | null> {
  const record = await host.store.load()
  if (record === null || record.accessToken === null) return null
  if (record.refreshToken === null || record.refreshToken === refreshToken) return null
  const mine = host.currentTokens
  if (mine !== null && !holdsNewerTokens(record, mine)) return null
  const theirs = tokensOfRecord(record, host.clock.now())
  if (theirs === null) return null
  host.adoptVersion(record)
  return theirs
}

/** True when `record` holds another access token that lives longer than `mine`. */
export function holdsNewerTokens(record: SessionRecord, mine: TokenSet | null): boolean {
  if (record.accessToken === null || mine === null || record.accessToken === mine.accessToken) return false
  return (record.accessExpiresAt ?? 0) > (mine.accessExpiresAt ?? 0)
}

/** The token set of a record: the machine's own copy when the envelope is usable (it knows when the set was obtained). */
export function tokensOfRecord(record: SessionRecord, now: number): TokenSet | null {
  const envelope = record.machine
  if (envelope?.schemaVersion === AUTH_SNAPSHOT_SCHEMA_VERSION && snapshotProblem(envelope.snapshot) === null) {
    const context = (envelope.snapshot as { context: { tokens: TokenSet | null; unsavedTokens: TokenSet | null } }).context
    const tokens = context.unsavedTokens ?? context.tokens
    if (tokens !== null && tokens.accessToken === record.accessToken) return tokens
  }
  return tokenSetOfRecord(record, now)
}

/** Resolves at the store's next change or at `until`; rejects when `signal` aborts. */
function nextStoreChange(host: SharedRefreshHost, signal: AbortSignal, until: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let unwatch: () => void = () => {}
    const done = () => {
      unwatch()
      host.clock.clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
    }
    const onAbort = () => {
      done()
      reject(new AbortError('the refresh was cancelled', { cause: signal.reason }))
    }
    const timer = host.clock.setTimeout(() => {
      done()
      resolve()
    }, Math.max(0, until - host.clock.now()))
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      unwatch = host.store.watch(() => {
        done()
        resolve()
      })
    } catch {
      // A store without a feed: the timer alone ends the wait.
    }
    if (signal.aborted) onAbort()
  })
}
