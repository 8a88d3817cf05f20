/**
 * The arithmetic of the auth statechart: poll intervals, backoff with
 * jitter, refresh times, and reading failures. Pure functions of data, so the
 * runtime can share the definitions (for example of "expiring") and tests
 * can check them without an actor.
 */
import type { ErrorCode } from '../src/errors.js'
import type { AuthContext, AuthFailure, AuthSettings, TokenSet } from './auth.types.js'

export const DEFAULT_AUTH_SETTINGS: AuthSettings = {
  refreshSkewMs: 60_000,
  defaultPollIntervalMs: 3_000,
  slowDownStepMs: 5_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 30_000,
  longPollSeconds: 25,
  maxStartAttempts: 5,
  revokeTimeoutMs: 5_000,
}

/** Error codes the machine branches on; literal here because machines/ import no runtime values. */
const NETWORK_ERROR: ErrorCode = 'network_error'
const INVALID_RESPONSE: ErrorCode = 'invalid_response'

/** One step of mulberry32: the next seed and a float in [0, 1). Deterministic, so jitter is data. */
export function nextJitter(seed: number): { seed: number; value: number } {
  const next = (seed + 0x6d2b79f5) | 0
  let t = next
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return { seed: next, value: ((t ^ (t >>> 14)) >>> 0) / 4294967296 }
}

/**
 * Delay before retry number `faults` (1 = first retry): exponential from
 * `backoffBaseMs`, capped at `backoffMaxMs`, with "equal jitter" (between
 * half and all of it) so a fleet that failed together does not retry together.
 */
/**
 * A refresh backing off after a fault is tried again at once when a caller needs a token and the fault is at least
 * this old: a server that came back is used within a second, and callers, however many, cause at most one attempt
 * a second (the attempt is single flight; its fault starts the next backoff, longer by the count of faults).
 */
export const PROMPT_RETRY_AFTER_MS = 1_000

/** Whether a caller asking at `at` may cut the backoff after `fault` short. */
export function mayRetryAtOnce(fault: AuthFailure | null, at: number | undefined): boolean {
  if (at === undefined || fault === null || fault.at === null) return false
  return at - fault.at >= PROMPT_RETRY_AFTER_MS
}

export function backoffDelayMs(faults: number, settings: AuthSettings, jitter: number): number {
  const exponent = Math.min(Math.max(faults - 1, 0), 30)
  const ceiling = Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** exponent)
  return Math.round(ceiling / 2 + (ceiling / 2) * jitter)
}

/** The wait between polls: the caller's or the default, never below the server's, plus slow_down steps. */
export function pollIntervalMs(context: Pick<AuthContext, 'settings' | 'callerIntervalMs' | 'approval' | 'intervalPenaltyMs'>): number {
  const base = context.callerIntervalMs ?? context.settings.defaultPollIntervalMs
  return Math.max(base, context.approval?.intervalMs ?? 0) + context.intervalPenaltyMs
}

/** Long-poll seconds for the next poll: bounded by what is left of the wait, or null for a plain poll. */
export function longPollWaitSeconds(context: AuthContext): number | null {
  if (!context.longPoll) return null
  const limit = Math.min(context.callerDeadline ?? Number.POSITIVE_INFINITY, context.approvalExpiresAt ?? Number.POSITIVE_INFINITY)
  const left = context.observedAt === null ? Number.POSITIVE_INFINITY : Math.floor((limit - context.observedAt) / 1000)
  const seconds = Math.min(context.settings.longPollSeconds, 30, left)
  return seconds >= 1 ? seconds : null
}

/**
 * When to refresh a token set: `refreshSkewMs` before the access token
 * expires, but never before half its lifetime has passed, so a token that
 * lives shorter than the skew is not refreshed in a loop. Null when the
 * server did not say when the token expires.
 */
export function refreshAtOf(tokens: TokenSet, refreshSkewMs: number): number | null {
  if (tokens.accessExpiresAt === null) return null
  const halfLife = tokens.obtainedAt + Math.max(0, tokens.accessExpiresAt - tokens.obtainedAt) / 2
  return Math.max(tokens.accessExpiresAt - refreshSkewMs, halfLife)
}

/** True when `tokens` should be refreshed at time `now` (the runtime's tokenProvider uses the same rule). */
export function isExpiring(tokens: TokenSet, refreshSkewMs: number, now: number): boolean {
  const refreshAt = refreshAtOf(tokens, refreshSkewMs)
  return refreshAt !== null && now >= refreshAt
}

/** A rotated set keeps the old refresh token when the server issued none (providers that do not rotate). */
export function mergeRotated(previous: TokenSet | null, next: TokenSet): TokenSet {
  if (next.refreshToken !== null || previous === null) return { ...next, agentId: next.agentId ?? previous?.agentId ?? null }
  return {
    ...next,
    refreshToken: previous.refreshToken,
    refreshExpiresAt: previous.refreshExpiresAt,
    agentId: next.agentId ?? previous.agentId,
  }
}

/**
 * Reads what an effect rejected with. The runtime's effects reject with an
 * AuthFailure (or a CountersignError, which has the same fields); anything
 * else is not an answer from the server, so it is read as a network fault
 * and retried, never taken as a reason to sign out.
 */
export function failureOf(error: unknown, fallbackAt: number | null): AuthFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>
  const message = typeof e.message === 'string' ? e.message : 'an effect failed without a message'
  const at = typeof e.at === 'number' && Number.isFinite(e.at) ? e.at : fallbackAt
  if (typeof e.code !== 'string' || e.code.length === 0) return { code: NETWORK_ERROR, message, at }
  const failure: AuthFailure = { code: e.code as ErrorCode, message, at }
  if (typeof e.status === 'number') failure.status = e.status
  if (typeof e.oauthError === 'string') failure.oauthError = e.oauthError
  return failure
}

/** A fault that is not the server's answer: retry it. */
export function isTransient(failure: AuthFailure): boolean {
  return failure.code === NETWORK_ERROR || failure.code === INVALID_RESPONSE
}
