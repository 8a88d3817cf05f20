/**
 * The seed's plain `TokenStore` — `getAccessToken`, `getRefreshToken`,
 * `setTokens(access, refresh)`, `clear`, each sync or async — used as a
 * session store.
 *
 * Limits, because such a store holds two strings and nothing else:
 * - Only the access and refresh tokens persist. Agent id, expiries, scope,
 *   issuer and the machine envelope live in this object's memory, so a pending
 *   approval does not survive a restart; the tokens do.
 * - A missing token is written as the empty string, and an empty string read
 *   back means "no token".
 * - Versions, compare-and-set, the change feed and leases work within this
 *   process only. When `load()` finds tokens other than the ones last written
 *   (someone else called `setTokens`), it reports a record holding just those
 *   tokens as a `remote` change.
 * - `setTokens` is called only when the tokens change, not on every save.
 */
import { ChangeFeed } from './change-feed.js'
import { isSessionStore, type Lease, type SessionChangeListener, type SessionData, type SessionInput, type SessionRecord, type SessionStore, type WriteOptions } from './contract.js'
import { LeaseTable } from './lease.js'
import { MemoryStore } from './memory.js'
import { checkExpectedVersion, closedError, expectedVersionOf, toRecord, toSessionData } from './session-record.js'

/** A value, or a promise of it: TokenStore methods may be sync or async. */
export type MaybePromise<T> = T | Promise<T>

/** The token store shape of the seed API, accepted as is. */
export interface TokenStore {
  /** The saved access token; null, undefined or '' when there is none. */
  getAccessToken(): MaybePromise<string | null | undefined>
  /** The saved refresh token; null, undefined or '' when there is none. */
  getRefreshToken(): MaybePromise<string | null | undefined>
  /** Saves both tokens (a missing one as ''). */
  setTokens(accessToken: string, refreshToken: string): MaybePromise<void>
  /** Forgets both tokens. */
  clear(): MaybePromise<void>
}

const tokenStoreMethods = ['getAccessToken', 'getRefreshToken', 'setTokens', 'clear'] as const

/** True for an object with the four TokenStore methods that is not one of our session stores. */
export function isTokenStore(value: unknown): value is TokenStore {
  if (typeof value !== 'object' || value === null || isSessionStore(value)) return false
  const candidate = value as Record<string, unknown>
  return tokenStoreMethods.every((name) => typeof candidate[name] === 'function')
}

/** Options of `toSessionStore()`, passed on to the store it makes. */
export interface StoreChoiceOptions {
  /** Clock for lease expiry, epoch ms. Default `Date.now`. */
  now?: () => number
}

/**
 * What the caller passed as `store`, as a SessionStore: nothing → a new
 * MemoryStore; a SessionStore → itself; a TokenStore → wrapped.
 */
export function toSessionStore(store: unknown, options: StoreChoiceOptions = {}): SessionStore {
  if (store === undefined || store === null) return new MemoryStore(options)
  if (isSessionStore(store)) return store
  if (isTokenStore(store)) return new TokenStoreAdapter(store, options)
  const missing = typeof store === 'object' ? tokenStoreMethods.filter((name) => typeof (store as Record<string, unknown>)[name] !== 'function') : []
  throw new TypeError(
    'store must be a TokenStore ({ getAccessToken, getRefreshToken, setTokens, clear }) or a session store such as MemoryStore or FileStore' +
      (missing.length > 0 && missing.length < tokenStoreMethods.length ? `; it lacks ${missing.join(', ')}` : ''),
  )
}

interface HeldTokens {
  accessToken: string | null
  refreshToken: string | null
}

/** A seed-shaped TokenStore used as a session store, within the limits in the module notes above. */
export class TokenStoreAdapter implements SessionStore {
  readonly tokenStore: TokenStore
  #record: SessionRecord | null = null
  #version = 0
  /** What the token store holds as far as we know; null until first read. */
  #held: HeldTokens | null = null
  #closed = false
  #steps: Promise<unknown> = Promise.resolve()
  #feed: ChangeFeed | null = null
  #leases: LeaseTable | null = null
  readonly #now: () => number

  constructor(tokenStore: TokenStore, options: StoreChoiceOptions = {}) {
    if (!isTokenStore(tokenStore)) throw new TypeError('tokenStore must have getAccessToken, getRefreshToken, setTokens and clear methods')
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('options.now must be a function returning epoch ms')
    this.tokenStore = tokenStore
    this.#now = options.now ?? Date.now
  }

  async load(): Promise<SessionRecord | null> {
    this.#assertOpen()
    return this.#serialize(async () => {
      await this.#readTokens()
      return this.#record
    })
  }

  async save(record: SessionInput, options?: WriteOptions): Promise<SessionRecord> {
    const data = toSessionData(record)
    const expected = expectedVersionOf(options)
    this.#assertOpen()
    return this.#serialize(async () => {
      if (this.#held === null) await this.#readTokens()
      checkExpectedVersion(expected, this.#version, this.#record !== null)
      await this.#writeTokens({ accessToken: data.accessToken, refreshToken: data.refreshToken })
      const saved = toRecord(data, ++this.#version)
      this.#record = saved
      this.#feed?.emit({ version: saved.version, record: saved, origin: 'local' })
      return saved
    })
  }

  async clear(options?: WriteOptions): Promise<void> {
    const expected = expectedVersionOf(options)
    this.#assertOpen()
    await this.#serialize(async () => {
      if (this.#held === null) await this.#readTokens()
      checkExpectedVersion(expected, this.#version, this.#record !== null)
      await this.tokenStore.clear()
      this.#held = { accessToken: null, refreshToken: null }
      this.#record = null
      const version = ++this.#version
      this.#feed?.emit({ version, record: null, origin: 'local' })
    })
  }

  watch(listener: SessionChangeListener): () => void {
    this.#assertOpen()
    this.#feed ??= new ChangeFeed()
    return this.#feed.add(listener)
  }

  async acquireLease(name: string, ttlMs: number): Promise<Lease | null> {
    this.#assertOpen()
    this.#leases ??= new LeaseTable(this.#now)
    return this.#leases.acquire(name, ttlMs)
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#steps
    this.#feed?.clear()
    this.#leases?.clear()
  }

  /** Reads both tokens; tokens other than the ones we know replace the record. */
  async #readTokens(): Promise<void> {
    const [access, refresh] = await Promise.all([this.tokenStore.getAccessToken(), this.tokenStore.getRefreshToken()])
    const now: HeldTokens = { accessToken: tokenOrNull(access, 'getAccessToken'), refreshToken: tokenOrNull(refresh, 'getRefreshToken') }
    const first = this.#held === null
    if (!first && sameTokens(now, this.#held!)) return
    this.#held = now
    if (first && now.accessToken === null && now.refreshToken === null) return
    const version = ++this.#version
    this.#record = now.accessToken === null && now.refreshToken === null ? null : toRecord({ ...emptySession, ...now }, version)
    if (!first) this.#feed?.emit({ version: this.#version, record: this.#record, origin: 'remote' })
  }

  async #writeTokens(tokens: HeldTokens): Promise<void> {
    if (this.#held !== null && sameTokens(tokens, this.#held)) return
    if (tokens.accessToken === null && tokens.refreshToken === null) await this.tokenStore.clear()
    else await this.tokenStore.setTokens(tokens.accessToken ?? '', tokens.refreshToken ?? '')
    this.#held = tokens
  }

  /** One step at a time: the token store may be async, and each compare-and-set must see the step before. */
  #serialize<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#steps.then(step)
    this.#steps = run.catch(() => {})
    return run
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError()
  }
}

const emptySession: SessionData = {
  agentId: null, accessToken: null, refreshToken: null, accessExpiresAt: null,
  refreshExpiresAt: null, scope: null, issuer: null, machine: null,
}

function tokenOrNull(value: unknown, method: string): string | null {
  if (value === undefined || value === null || value === '') return null
  if (typeof value !== 'string') throw new TypeError(`store.${method}() must return a string, null or undefined`)
  return value
}

function sameTokens(a: HeldTokens, b: HeldTokens): boolean {
  return a.accessToken === b.accessToken && a.refreshToken === b.refreshToken
}
