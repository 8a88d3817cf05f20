/**
 * The public shapes of a LiveSocket: where it connects, its options, the
 * events it reports; and the checks of its constructor's arguments, which
 * throw a TypeError naming the argument at once (nothing has started).
 */
import type { ClientOptions } from 'ws'
import { liveSocketSettings, type LiveSocketSettings, type SocketFailure, type SocketOutcome } from '../../machines/socket.js'
import type { Clock } from '../clock.js'
import type { CountersignError } from '../errors.js'
import { resolveTokenSource, type TokenChanges, type TokenOrigin, type TokenSource } from '../token-source.js'

/** Where a LiveSocket connects. */
export interface LiveSocketUrl {
  /** ws:// or wss:// URL of the endpoint. */
  url: string | URL
}

/**
 * Where a LiveSocket connects, and where its token comes from: either
 * `tokenProvider` (any token source) or `auth` (an AuthManager: its
 * tokenProvider, forceRefresh() after a refusal, and token$ for rotations),
 * never both.
 */
export type LiveSocketTarget = LiveSocketUrl & TokenOrigin

/** Options of `new LiveSocket(target, options)`. */
export interface LiveSocketOptions {
  /** Most sends not yet written (waiting or in flight). Default 1000. */
  queueSize?: number
  /** Timings of the statechart (backoff, heartbeat, time limits); see LiveSocketSettings. */
  settings?: Partial<LiveSocketSettings>
  /** With a bare tokenProvider: emits when the token rotated (a string, `{ accessToken }`, or anything). */
  tokenChanges$?: TokenChanges
  /**
   * With a bare tokenProvider and no tokenChanges$: ask it this often whether the token changed, ms.
   * Default 15 000; `false` turns it off (the socket then learns of a rotation from the server's 4401).
   */
  tokenCheckIntervalMs?: number | false
  /** Time and timers. Default the system clock. */
  clock?: Clock
  /** Options for each `ws` connection (headers, TLS ...); the Authorization header is always the socket's. */
  webSocket?: ClientOptions
  /** Seed of the reconnect jitter. Default random, so a fleet does not reconnect in step. */
  jitterSeed?: number
  /**
   * After `close()` sent its close frame, wait this long for the server's
   * answer before terminating the connection, ms. Default 2000 (ws itself
   * would wait 30 s for a peer that never answers).
   */
  closeGraceMs?: number
}

/** What happened to a LiveSocket, on `events$`. None carries a token. */
export type LiveSocketEvent =
  | { type: 'open'; connectionId: number; at: number }
  | { type: 'reauthenticated'; connectionId: number; exp: number; at: number }
  /** The connection failed or ended; a new one is tried at `retryAt` (null: at once, or never when closing). */
  | { type: 'disconnected'; failure: SocketFailure; retryAt: number | null }
  | { type: 'revoked'; at: number | null; failure: SocketFailure }
  /** A frame from the server that could not be read; the connection stays open. */
  | { type: 'invalidMessage'; error: CountersignError }
  | { type: 'closed'; outcome: SocketOutcome }

const DEFAULT_QUEUE_SIZE = 1000
const DEFAULT_TOKEN_CHECK_MS = 15_000
const DEFAULT_CLOSE_GRACE_MS = 2_000

/** The constructor's arguments, checked, with defaults filled in. */
export interface CheckedArguments {
  url: string
  source: TokenSource
  queueSize: number
  checkEvery: number | false
  closeGraceMs: number
}

/** Checks `new LiveSocket(target, options)`'s arguments; a mistake is a TypeError naming the argument. */
export function checkedArguments(target: LiveSocketTarget, options: LiveSocketOptions): CheckedArguments {
  if (typeof target !== 'object' || target === null) throw new TypeError('target must be an object { url, tokenProvider } or { url, auth }')
  const url = parseSocketUrl(target.url)
  const source = resolveTokenSource(target, 'target')
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE
  if (!Number.isInteger(queueSize) || queueSize < 1) throw new TypeError('options.queueSize must be a positive integer')
  const checkEvery = options.tokenCheckIntervalMs ?? DEFAULT_TOKEN_CHECK_MS
  if (checkEvery !== false && !(typeof checkEvery === 'number' && Number.isFinite(checkEvery) && checkEvery > 0)) {
    throw new TypeError('options.tokenCheckIntervalMs must be a positive number of milliseconds or false')
  }
  if (options.tokenChanges$ !== undefined && typeof options.tokenChanges$?.subscribe !== 'function') throw new TypeError('options.tokenChanges$ must be an Observable')
  if (options.jitterSeed !== undefined && !Number.isInteger(options.jitterSeed)) throw new TypeError('options.jitterSeed must be an integer')
  const closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS
  if (!(typeof closeGraceMs === 'number' && Number.isFinite(closeGraceMs) && closeGraceMs > 0)) throw new TypeError('options.closeGraceMs must be a positive number of milliseconds')
  // Checked here so a bad value throws now instead of failing the statechart when it starts.
  liveSocketSettings(options.settings)
  return { url, source, queueSize, checkEvery, closeGraceMs }
}

function parseSocketUrl(value: unknown): string {
  const text = value instanceof URL ? value.href : value
  if (typeof text !== 'string' || !URL.canParse(text)) throw new TypeError('target.url must be an absolute ws:// or wss:// URL')
  const url = new URL(text)
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`target.url must be a ws:// or wss:// URL, not ${url.protocol}`)
  return url.href
}
