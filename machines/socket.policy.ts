/**
 * The arithmetic and the reading of failures of the LiveSocket statechart:
 * what a close code or an upgrade status means, reconnect delays with full
 * jitter, settings. Pure functions of data; `src/live/messages.ts` re-exports
 * the close codes so the wire format and the machine share one definition.
 */
import type { LiveSocketSettings, SocketFailure, SocketFailureKind, TokenReason } from './socket.types.js'

/** Close codes the runtime acts on (RFC 6455 §7.4.1, IANA registry, protocol.md §5). */
export const CloseCodes = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** No close frame: the connection was lost. Never sent on the wire. */
  ABNORMAL: 1006,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  /** The connection's token expired or an in-band `auth` was refused: refresh, then reconnect. */
  TOKEN_INVALID: 4401,
  /** The token's family was revoked (the reference server also sends it for a token lacking the scope): stop, do not reconnect. */
  REVOKED: 4403,
} as const

/** Close codes that mean "the connection was dropped, reconnect with backoff". */
export const RECONNECT_CLOSE_CODES: readonly number[] = [
  CloseCodes.ABNORMAL,
  CloseCodes.INTERNAL_ERROR,
  CloseCodes.SERVICE_RESTART,
  CloseCodes.TRY_AGAIN_LATER,
]

/**
 * What a close code means for the connection. 4401 and 4403 are the
 * protocol's answers; every other code, including a normal close the caller
 * did not ask for, is a drop: the socket's job is to stay connected.
 */
export function closeCodeKind(code: number): SocketFailureKind {
  if (code === CloseCodes.TOKEN_INVALID) return 'unauthorized'
  if (code === CloseCodes.REVOKED) return 'revoked'
  return 'dropped'
}

/**
 * What a refused upgrade means: 401 is a bad token; 5xx, 408 and 429 pass
 * with time; any other 4xx (wrong URL, forbidden) would be refused again
 * the same way, so reconnecting forever would only hide it.
 */
export function upgradeStatusKind(status: number): SocketFailureKind {
  if (status === 401) return 'unauthorized'
  if (status >= 500 || status === 408 || status === 429) return 'dropped'
  if (status >= 400) return 'refused'
  return 'dropped'
}

/** Token-source error codes that say the session is over: no token will come by waiting. */
const SESSION_OVER_CODES = new Set(['token_refresh_failed', 'not_authenticated', 'disposed'])

const record = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {})
const messageOf = (e: Record<string, unknown>, fallback: string) => (typeof e.message === 'string' && e.message.length > 0 ? e.message : fallback)
const atOf = (e: Record<string, unknown>, fallbackAt: number | null) => (typeof e.at === 'number' && Number.isFinite(e.at) ? e.at : fallbackAt)
const isCode = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value)

/**
 * Reads what `connect` or `reauthenticate` rejected with: a close code wins
 * over an HTTP status; neither means the network failed (refused, reset,
 * timed out), which is a drop. `expired: true` marks a refusal due to the
 * token's expiry.
 */
export function connectionFailureOf(error: unknown, fallbackAt: number | null): SocketFailure {
  const e = record(error)
  const failure: SocketFailure = { kind: 'dropped', message: messageOf(e, 'the connection failed without a message'), at: atOf(e, fallbackAt) }
  if (isCode(e.closeCode)) {
    failure.closeCode = e.closeCode
    failure.kind = closeCodeKind(e.closeCode)
  } else if (isCode(e.status)) {
    failure.status = e.status
    failure.kind = upgradeStatusKind(e.status)
  }
  if (failure.kind === 'unauthorized' && e.expired === true) failure.expired = true
  return failure
}

/** Reads what `getToken` rejected with: a session that is over ends the socket; anything else is retried. */
export function tokenFailureOf(error: unknown, fallbackAt: number | null): SocketFailure {
  const e = record(error)
  const code = typeof e.code === 'string' ? e.code : undefined
  const kind: SocketFailureKind = code === 'revoked' ? 'revoked' : code !== undefined && SESSION_OVER_CODES.has(code) ? 'unauthenticated' : 'tokenUnavailable'
  const failure: SocketFailure = { kind, message: messageOf(e, 'the token source failed without a message'), at: atOf(e, fallbackAt) }
  if (code !== undefined) failure.code = code
  return failure
}

/** A close of the open connection, as reported by the runtime; `expired` marks a 4401 due to the token's expiry. */
export function closeFailureOf(code: number, reason: string | undefined, at: number, expired = false): SocketFailure {
  const why = reason ? `: ${reason}` : ''
  const kind = closeCodeKind(code)
  return { kind, message: `the connection closed with code ${code}${why}`, at, closeCode: code, ...(kind === 'unauthorized' && expired ? { expired: true as const } : {}) }
}

/** The reason of the token request after `failure`: its own for a refusal, else `current`. */
export function tokenReasonAfter(failure: SocketFailure, current: TokenReason): TokenReason {
  if (failure.kind !== 'unauthorized') return current
  return failure.expired ? 'expired' : 'unauthorized'
}

export const DEFAULT_LIVE_SOCKET_SETTINGS: LiveSocketSettings = {
  backoffBaseMs: 1_000,
  backoffMaxMs: 30_000,
  pingIntervalMs: 25_000,
  maxMissedPongs: 2,
  connectTimeoutMs: 10_000,
  reauthTimeoutMs: 10_000,
  stableAfterMs: 10_000,
}

/** Settings with defaults filled in; a value of the wrong shape is a TypeError naming it. */
export function liveSocketSettings(partial: Partial<LiveSocketSettings> = {}): LiveSocketSettings {
  if (typeof partial !== 'object' || partial === null) throw new TypeError('settings must be an object')
  const settings = { ...DEFAULT_LIVE_SOCKET_SETTINGS }
  for (const key of Object.keys(DEFAULT_LIVE_SOCKET_SETTINGS) as Array<keyof LiveSocketSettings>) {
    const value = partial[key]
    if (value === undefined) continue
    const whole = key === 'maxMissedPongs'
    const ok = typeof value === 'number' && Number.isFinite(value) && value > 0 && (!whole || Number.isInteger(value))
    if (!ok) throw new TypeError(`settings.${key} must be ${whole ? 'a positive integer' : 'a positive number of milliseconds'}`)
    settings[key] = value
  }
  if (settings.backoffMaxMs < settings.backoffBaseMs) throw new TypeError('settings.backoffMaxMs must not be below settings.backoffBaseMs')
  return settings
}

/** One step of mulberry32: the next seed and a float in [0, 1). Deterministic, so jitter is data. */
export function nextJitter(seed: number): { seed: number; value: number } {
  const next = (seed + 0x6d2b79f5) | 0
  let t = next
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return { seed: next, value: ((t ^ (t >>> 14)) >>> 0) / 4294967296 }
}

/** Upper bound of the delay before reconnect number `attempt` (1 = first): base doubling, capped. */
export function backoffCeilingMs(attempt: number, settings: Pick<LiveSocketSettings, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30)
  return Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** exponent)
}

/**
 * "Full jitter": a delay drawn uniformly from [0, ceiling). Sockets of a
 * fleet dropped by one server restart then spread their reconnects over the
 * whole window instead of arriving together.
 */
export function backoffDelayMs(attempt: number, settings: Pick<LiveSocketSettings, 'backoffBaseMs' | 'backoffMaxMs'>, jitter: number): number {
  return Math.floor(backoffCeilingMs(attempt, settings) * jitter)
}
