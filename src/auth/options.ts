/**
 * The arguments of `new AuthManager(baseUrl, store?, options?)`: checked at
 * once (misuse is a TypeError naming the argument) and resolved to defaults.
 */
import { systemClock, type Clock } from '../clock.js'
import { toSessionStore } from '../../stores/token-store.js'
import type { SessionStore } from '../../stores/contract.js'
import type { TokenStore } from '../../stores/token-store.js'

/** Where the runtime reports what a caller should know about but that has no promise to reject. */
export interface AuthLogger {
  /** Detail for debugging. */
  debug?(message: string): void
  /** Something worth knowing that needs no action. */
  info?(message: string): void
  /** Something went wrong and the runtime carried on (a restore that fell back, a store that failed). */
  warn?(message: string): void
  /** Something failed that no promise could report. */
  error?(message: string): void
}

/** The third argument of `new AuthManager(baseUrl, store, options)`; every field is optional. */
export interface AuthManagerOptions {
  /** The public client id sent with every request. Default `countersign-agent`. */
  clientId?: string
  /** Refresh this long before the access token expires, ms. Default 60 000. */
  refreshSkewMs?: number
  /** The fetch to use for every request. Default the global one. */
  fetch?: typeof fetch
  /** Time and timers; tests pass a simulated or shifted clock. Default the system clock. */
  clock?: Clock
  /** Receives warnings (a restore that fell back, a store that failed). Default: process warnings. */
  logger?: AuthLogger
  /** Long-poll for the decision when the server supports it ('auto', the default), always try (true), or never (false). */
  longPoll?: 'auto' | boolean
  /**
   * How long `tokenProvider()` waits, ms, for a refresh that is being retried after faults once the access token
   * has expired, before it fails. Default 5 000; 0 fails at once.
   */
  tokenWaitMs?: number
  /**
   * How long one request to the server may go without an answer before it counts as a network fault and is
   * retried, ms. Default 30 000, at most 120 000: with retries backing off to 30 s at most, a refresh whose answer
   * was lost is repeated well inside the server's redelivery window (10 minutes on the reference server).
   * Long-polls get their wait on top.
   */
  requestTimeoutMs?: number
}

/** The most `requestTimeoutMs` may be: this plus the backoff cap stays far inside a 10-minute redelivery window. */
export const MAX_REQUEST_TIMEOUT_MS = 120_000

export interface ResolvedOptions {
  clientId: string
  refreshSkewMs: number
  fetch: typeof fetch | undefined
  clock: Clock
  logger: AuthLogger
  longPoll: 'auto' | boolean
  tokenWaitMs: number
  requestTimeoutMs: number
}

export const DEFAULT_CLIENT_ID = 'countersign-agent'
const KNOWN_OPTIONS = new Set(['clientId', 'refreshSkewMs', 'fetch', 'clock', 'logger', 'longPoll', 'tokenWaitMs', 'requestTimeoutMs'])

/** The default logger: warnings become process warnings, so they are seen without being configured. */
export const processWarningLogger: AuthLogger = {
  warn: (message) => process.emitWarning(message, { type: 'CountersignWarning', code: 'COUNTERSIGN_AUTH' }),
  error: (message) => process.emitWarning(message, { type: 'CountersignWarning', code: 'COUNTERSIGN_AUTH' }),
}

/** The issuer URL the manager talks to, without a trailing slash. */
export function parseBaseUrl(baseUrl: unknown): string {
  const text = baseUrl instanceof URL ? baseUrl.href : baseUrl
  if (typeof text !== 'string' || !URL.canParse(text)) throw new TypeError('baseUrl must be an absolute http(s) URL, such as "http://127.0.0.1:4000"')
  const url = new URL(text)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`baseUrl must be an http(s) URL, not ${url.protocol}`)
  if (url.search || url.hash) throw new TypeError('baseUrl must have no query or fragment')
  if (url.username || url.password) throw new TypeError('baseUrl must not carry credentials')
  return url.href.replace(/\/+$/, '')
}

export interface StoreChoice {
  store: SessionStore
  /** The manager made the store itself: nobody else can write it, and dispose() closes it. */
  owned: boolean
  /** A read-only store: the manager follows the session another process keeps in it. */
  follower: boolean
}

export function resolveStore(store: SessionStore | TokenStore | undefined | null): StoreChoice {
  if (store === undefined || store === null) return { store: toSessionStore(undefined), owned: true, follower: false }
  if (typeof store !== 'object') {
    throw new TypeError('store must be a TokenStore ({ getAccessToken, getRefreshToken, setTokens, clear }) or a session store such as MemoryStore or FileStore')
  }
  const resolved = toSessionStore(store)
  // A wrapped TokenStore is ours to close; the tokens it holds are the caller's.
  return { store: resolved, owned: resolved !== store, follower: (store as { readOnly?: unknown }).readOnly === true }
}

/** One object for every manager built with the defaults: a fleet of thousands shares it. */
let defaults: ResolvedOptions | undefined

export function resolveOptions(options: AuthManagerOptions | undefined): ResolvedOptions {
  if (options === undefined || options === null) return (defaults ??= Object.freeze(resolveOptions({})))
  if (typeof options !== 'object') throw new TypeError('options must be an object')
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`options.${key} is not an AuthManager option (expected one of ${[...KNOWN_OPTIONS].join(', ')})`)
  }
  const { clientId = DEFAULT_CLIENT_ID, refreshSkewMs = 60_000, fetch, clock = systemClock, logger = processWarningLogger, longPoll = 'auto', tokenWaitMs = 5_000, requestTimeoutMs = 30_000 } = options
  if (typeof clientId !== 'string' || clientId.length === 0) throw new TypeError('options.clientId must be a non-empty string')
  if (typeof refreshSkewMs !== 'number' || !Number.isFinite(refreshSkewMs) || refreshSkewMs < 0) {
    throw new TypeError('options.refreshSkewMs must be a number of milliseconds ≥ 0')
  }
  if (fetch !== undefined && typeof fetch !== 'function') throw new TypeError('options.fetch must be a function')
  if (typeof clock !== 'object' || clock === null || !['now', 'setTimeout', 'clearTimeout'].every((name) => typeof (clock as unknown as Record<string, unknown>)[name] === 'function')) {
    throw new TypeError('options.clock must have now(), setTimeout() and clearTimeout()')
  }
  if (typeof logger !== 'object' || logger === null) throw new TypeError('options.logger must be an object with warn() and the like')
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (logger[level] !== undefined && typeof logger[level] !== 'function') throw new TypeError(`options.logger.${level} must be a function`)
  }
  if (longPoll !== 'auto' && typeof longPoll !== 'boolean') throw new TypeError('options.longPoll must be "auto", true or false')
  if (typeof tokenWaitMs !== 'number' || !Number.isFinite(tokenWaitMs) || tokenWaitMs < 0) {
    throw new TypeError('options.tokenWaitMs must be a number of milliseconds ≥ 0')
  }
  if (typeof requestTimeoutMs !== 'number' || !Number.isFinite(requestTimeoutMs) || requestTimeoutMs <= 0 || requestTimeoutMs > MAX_REQUEST_TIMEOUT_MS) {
    throw new TypeError(`options.requestTimeoutMs must be a number of milliseconds > 0 and ≤ ${MAX_REQUEST_TIMEOUT_MS}`)
  }
  return { clientId, refreshSkewMs, fetch, clock, logger, longPoll, tokenWaitMs, requestTimeoutMs }
}

/** Calls a logger method; a logger that throws must not break the runtime. */
export function log(logger: AuthLogger, level: keyof AuthLogger, message: string): void {
  try {
    logger[level]?.(message)
  } catch {
    // Nowhere left to report it.
  }
}
