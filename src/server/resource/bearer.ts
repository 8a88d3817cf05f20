/**
 * RFC 6750 for resource endpoints: reading the Bearer token of a request and
 * building the `WWW-Authenticate` challenge of a refusal. Shared by the
 * reference server's own endpoints and the guards exported for other
 * resource servers.
 */

/** RFC 6750 §2.1 b64token: the characters an access token may have in the header. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * What the Authorization header holds: no Bearer credentials at all (RFC 6750
 * §3.1 says such a refusal names no error), a malformed Bearer header, or a
 * token.
 */
export type BearerCredentials = { kind: 'missing' } | { kind: 'malformed'; reason: string } | { kind: 'token'; token: string }

export function bearerCredentials(authorization: string | string[] | undefined): BearerCredentials {
  if (authorization === undefined || authorization === '') return { kind: 'missing' }
  if (Array.isArray(authorization)) return { kind: 'malformed', reason: 'the request has more than one Authorization header' }
  const space = authorization.indexOf(' ')
  const scheme = space === -1 ? authorization : authorization.slice(0, space)
  // Another scheme (Basic, ...) carries no Bearer credentials: the challenge tells the client which scheme is wanted.
  if (scheme.toLowerCase() !== 'bearer') return { kind: 'missing' }
  const token = space === -1 ? '' : authorization.slice(space + 1).trim()
  if (token === '') return { kind: 'malformed', reason: 'the Authorization header names the Bearer scheme but carries no token' }
  if (!B64TOKEN.test(token)) return { kind: 'malformed', reason: 'the Bearer token in the Authorization header has characters a token cannot have' }
  return { kind: 'token', token }
}

/** A refusal of a resource request: status, body and the challenge header. */
export interface BearerRefusal {
  status: 401 | 403
  body: { error: string; error_description: string }
  challenge: string
}

export interface ChallengeOptions {
  realm: string
}

/** RFC 6750 §3: quoted-string values may not hold `"` or `\`, and error_description only printable ASCII. */
function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?')}"`
}

/** 401 for a request without Bearer credentials: the challenge names the realm and no error (RFC 6750 §3.1). */
export function missingToken({ realm }: ChallengeOptions): BearerRefusal {
  return {
    status: 401,
    body: { error: 'invalid_token', error_description: 'the request carries no access token; send it as Authorization: Bearer <token>' },
    challenge: `Bearer realm=${quoted(realm)}`,
  }
}

/** 401 invalid_token: malformed, unknown, expired or revoked. */
export function invalidToken(description: string, { realm }: ChallengeOptions): BearerRefusal {
  return {
    status: 401,
    body: { error: 'invalid_token', error_description: description },
    challenge: `Bearer realm=${quoted(realm)}, error="invalid_token", error_description=${quoted(description)}`,
  }
}

/** 403 insufficient_scope; `scope` names what would have been enough, when there is such a scope. */
export function insufficientScope(description: string, scope: string | undefined, { realm }: ChallengeOptions): BearerRefusal {
  return {
    status: 403,
    body: { error: 'insufficient_scope', error_description: description },
    challenge: `Bearer realm=${quoted(realm)}, error="insufficient_scope", error_description=${quoted(description)}${scope ? `, scope=${quoted(scope)}` : ''}`,
  }
}

/** The refusal for what `bearerCredentials` found, when it found no token. */
export function refusalFor(credentials: Exclude<BearerCredentials, { kind: 'token' }>, options: ChallengeOptions): BearerRefusal {
  return credentials.kind === 'missing' ? missingToken(options) : invalidToken(credentials.reason, options)
}

/** Scopes of a space-separated `scope` claim. */
export function scopesOf(scope: unknown): Set<string> {
  return new Set(typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [])
}
