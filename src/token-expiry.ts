/**
 * Whether a refused token had expired: what the clients tell the token
 * source (`'expired'` or `'unauthorized'`) when the server refuses a token,
 * with a 401 answer or a 4401 close. A source told 'expired' gives its
 * current token, which it replaces itself when it knows it expired; one
 * told 'unauthorized' must refresh.
 */

/** The reason a client gives its token source after a refusal. */
export type RefusalReason = 'expired' | 'unauthorized'

/** Expiry of a JWT-shaped token (its `exp`, epoch ms), or null for a token that names none. Reads, never verifies. */
export function tokenExpiresAt(token: string): number | null {
  const parts = token.split('.')
  if (parts.length !== 3 || !parts[1]) return null
  try {
    const exp = (JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown } | null)?.exp
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null
  } catch {
    return null
  }
}

/** "expired", but not as one possibility among others ("invalid or expired", "expired or revoked"). */
const SAYS_EXPIRED = /\bexpired\b/i
const EXPIRED_AMONG_OTHERS = /\bor\s+expired\b|\bexpired\s+or\b/i

/**
 * Why the server refused `token`: 'expired' when its words say so (a 4401
 * close reason, a 401's `error_description`: "the access token expired") or
 * the token's own `exp` has passed by `now`; 'unauthorized' otherwise. Words
 * that name expiry only as one possibility ("invalid or expired") leave it
 * to the token's `exp`.
 */
export function refusalReason(token: string | null, description: string | null | undefined, now: number): RefusalReason {
  if (description && SAYS_EXPIRED.test(description) && !EXPIRED_AMONG_OTHERS.test(description)) return 'expired'
  const expiresAt = token === null ? null : tokenExpiresAt(token)
  return expiresAt !== null && expiresAt <= now ? 'expired' : 'unauthorized'
}
