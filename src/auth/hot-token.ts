/**
 * The token provider's fast path: a token callers may take without a look at
 * the session while a recent clock reading is below `until`.
 */
import { refreshAtOf, type TokenSet } from '../../machines/auth.js'

export interface HotToken {
  readonly promise: Promise<string>
  readonly until: number
}

/** How long a clock reading serves the hot path: far below any refresh margin, long enough to spare the clock. */
export const TRUST_MS = 250

/** Fresh until its refresh time, and never closer to its expiry than a clock reading may be old. */
export function hotOf(tokens: TokenSet, skewMs: number): HotToken {
  const refreshAt = refreshAtOf(tokens, skewMs) ?? Number.POSITIVE_INFINITY
  const expiresAt = tokens.accessExpiresAt ?? Number.POSITIVE_INFINITY
  return { promise: Promise.resolve(tokens.accessToken), until: Math.min(refreshAt, expiresAt - TRUST_MS) }
}
