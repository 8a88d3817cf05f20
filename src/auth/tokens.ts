/**
 * Token sets the runtime builds itself: from the two strings a caller hands
 * to `setTokens()`, and from a stored record whose machine snapshot cannot be
 * used. The access token's own claims (`exp`, `iat`, `sub`, `scope`) fill in
 * what the strings do not say; the token is read, not verified (the server
 * verifies it; the runtime only needs to know when to refresh it).
 */
import type { TokenSet } from '../protocol/index.js'
import type { SessionRecord } from '../../stores/contract.js'

/** What `token$` emits: the current access token and what is known about it. */
export interface AccessToken {
  readonly accessToken: string
  readonly tokenType: 'Bearer'
  /** Epoch ms, or null when unknown. */
  readonly expiresAt: number | null
  readonly scope: string | null
  readonly agentId: string | null
}

interface Claims {
  exp?: number
  iat?: number
  sub?: string
  scope?: string
}

/** The payload of a JWT, or an empty object for an opaque token. Never throws. */
export function claimsOf(token: string): Claims {
  const parts = token.split('.')
  if (parts.length !== 3 || parts[1] === undefined) return {}
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return {}
    const claims: Claims = {}
    const p = payload as Record<string, unknown>
    if (typeof p.exp === 'number' && Number.isFinite(p.exp)) claims.exp = p.exp
    if (typeof p.iat === 'number' && Number.isFinite(p.iat)) claims.iat = p.iat
    if (typeof p.sub === 'string') claims.sub = p.sub
    if (typeof p.scope === 'string') claims.scope = p.scope
    return claims
  } catch {
    return {}
  }
}

/**
 * A token set from two strings and what the access token says about itself.
 * `obtainedAt` is the token's `iat` when it is plausible, so "half its life"
 * in the refresh rule counts from when it was issued, not from now.
 */
export function tokenSetOfStrings(accessToken: string, refreshToken: string | null, now: number, known: Partial<TokenSet> = {}): TokenSet {
  const claims = claimsOf(accessToken)
  const iat = claims.iat === undefined ? null : claims.iat * 1000
  return {
    accessToken,
    tokenType: 'Bearer',
    accessExpiresAt: known.accessExpiresAt ?? (claims.exp === undefined ? null : claims.exp * 1000),
    refreshToken,
    refreshExpiresAt: refreshToken === null ? null : (known.refreshExpiresAt ?? null),
    scope: known.scope ?? claims.scope ?? null,
    agentId: known.agentId ?? claims.sub ?? null,
    obtainedAt: iat !== null && iat <= now ? iat : now,
  }
}

/** The token set a record holds, or null when it holds no access token. */
export function tokenSetOfRecord(record: SessionRecord, now: number): TokenSet | null {
  if (record.accessToken === null) return null
  return tokenSetOfStrings(record.accessToken, record.refreshToken, now, {
    ...(record.accessExpiresAt === null ? {} : { accessExpiresAt: record.accessExpiresAt }),
    ...(record.refreshExpiresAt === null ? {} : { refreshExpiresAt: record.refreshExpiresAt }),
    ...(record.scope === null ? {} : { scope: record.scope }),
    ...(record.agentId === null ? {} : { agentId: record.agentId }),
  })
}

export function accessTokenOf(tokens: TokenSet): AccessToken {
  return { accessToken: tokens.accessToken, tokenType: 'Bearer', expiresAt: tokens.accessExpiresAt, scope: tokens.scope, agentId: tokens.agentId }
}
