/**
 * Guards for resource servers that accept countersign access tokens: a
 * Fastify preHandler hook and a plain Node `(req, res)` guard. Both read the
 * Bearer token (RFC 6750 §2.1), verify it with `verifyAccessToken()`, check
 * the required scopes and an optional `authorize` callback, and answer a
 * refusal themselves with the RFC 6750 challenge:
 *
 * - no token → 401, `WWW-Authenticate: Bearer realm="..."` (no error, §3.1);
 * - a bad, expired or foreign token → 401, `error="invalid_token"`;
 * - a missing scope or `authorize` saying no → 403, `error="insufficient_scope"`;
 * - the issuer's keys cannot be fetched → 503 (the token was not judged, so
 *   the client is not told to drop it).
 *
 * Bodies are `{ error, error_description }`. Whether a token was revoked
 * since it was issued only its issuer knows; keep access tokens short-lived.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { CountersignError, ErrorCodes } from '../errors.js'
import { bearerCredentials, insufficientScope, invalidToken, refusalFor, scopesOf, type BearerRefusal } from './resource/bearer.js'
import { checkVerifyOptions, verifyAccessToken, type AccessTokenClaims, type VerifyOptions } from './verify.js'

/** Options of `createFastifyGuard()` and `createNodeGuard()`: those of verifyAccessToken(), and what a token must grant. */
export interface GuardOptions<Request> extends VerifyOptions {
  /** The realm named in challenges. Default `countersign`. */
  realm?: string
  /** Scopes the token must all carry (space-separated string or array). */
  scope?: string | string[]
  /**
   * Decides access beyond a valid token and its scopes, e.g. which agents may
   * use this resource. `false` → 403 insufficient_scope. A throw is not a
   * refusal: it reaches the caller (Fastify's error handler, or the Node
   * guard's rejected promise).
   */
  authorize?: (claims: AccessTokenClaims, request: Request) => boolean | Promise<boolean>
}

/** How a guard answered when it refused. */
interface Refusal {
  status: 401 | 403 | 503
  headers: Record<string, string>
  body: { error: string; error_description: string }
}

type Verdict = { ok: true; claims: AccessTokenClaims } | { ok: false; refusal: Refusal }

const DEFAULT_REALM = 'countersign'

function checkGuardOptions<Request>(options: GuardOptions<Request>): { realm: string; scopes: string[] } {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object with issuer and audience')
  const realm = options.realm ?? DEFAULT_REALM
  if (typeof realm !== 'string' || realm === '') throw new TypeError('options.realm must be a non-empty string')
  const { scope } = options
  let scopes: string[] = []
  if (typeof scope === 'string') scopes = [...scopesOf(scope)]
  else if (Array.isArray(scope) && scope.every((item) => typeof item === 'string' && item !== '' && !item.includes(' '))) scopes = [...scope]
  else if (scope !== undefined) throw new TypeError('options.scope must be a space-separated string or an array of scope names')
  if (options.authorize !== undefined && typeof options.authorize !== 'function') throw new TypeError('options.authorize must be a function')
  // Checked here too, so a misconfigured guard fails where it is made, not on its first request.
  checkVerifyOptions(options)
  return { realm, scopes }
}

async function judge<Request>(authorization: string | string[] | undefined, request: Request, options: GuardOptions<Request>, realm: string, scopes: string[]): Promise<Verdict> {
  const credentials = bearerCredentials(authorization)
  if (credentials.kind !== 'token') return refuse(refusalFor(credentials, { realm }))
  let claims: AccessTokenClaims
  try {
    claims = await verifyAccessToken(credentials.token, options)
  } catch (error) {
    if (error instanceof CountersignError && error.code === ErrorCodes.INVALID_TOKEN) return refuse(invalidToken(error.message, { realm }))
    if (error instanceof CountersignError && (error.code === ErrorCodes.NETWORK_ERROR || error.code === ErrorCodes.INVALID_RESPONSE)) {
      return {
        ok: false,
        refusal: {
          status: 503,
          headers: { 'retry-after': '5' },
          body: { error: 'temporarily_unavailable', error_description: "the access token could not be checked: the issuer's keys are unavailable" },
        },
      }
    }
    throw error
  }
  const granted = scopesOf(claims.scope)
  const missing = scopes.filter((scope) => !granted.has(scope))
  if (missing.length > 0) {
    return refuse(insufficientScope(`the access token lacks the scope ${missing.join(' ')}`, scopes.join(' '), { realm }))
  }
  if (options.authorize && (await options.authorize(claims, request)) !== true) {
    return refuse(insufficientScope('the access token does not grant access to this resource', undefined, { realm }))
  }
  return { ok: true, claims }
}

function refuse(refusal: BearerRefusal): Verdict {
  return { ok: false, refusal: { status: refusal.status, headers: { 'www-authenticate': refusal.challenge }, body: refusal.body } }
}

const fastifyClaims = new WeakMap<FastifyRequest, AccessTokenClaims>()

/**
 * A Fastify preHandler that lets a request through only with an acceptable
 * token; the handler reads the claims with `accessClaimsOf(request)`.
 *
 * ```ts
 * const guard = createFastifyGuard({ issuer, audience: 'countersign', scope: 'agent' })
 * app.get('/reports', { preHandler: guard }, (request) => accessClaimsOf(request))
 * ```
 */
export function createFastifyGuard(options: GuardOptions<FastifyRequest>): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const { realm, scopes } = checkGuardOptions(options)
  return async (request, reply) => {
    const verdict = await judge(request.headers.authorization, request, options, realm, scopes)
    if (verdict.ok) {
      fastifyClaims.set(request, verdict.claims)
      return
    }
    const { status, headers, body } = verdict.refusal
    await reply.code(status).headers({ ...headers, 'cache-control': 'no-store' }).send(body)
  }
}

/** The claims a `createFastifyGuard` hook accepted for this request; undefined when no guard ran. */
export function accessClaimsOf(request: FastifyRequest): AccessTokenClaims | undefined {
  return fastifyClaims.get(request)
}

/**
 * A guard for `node:http` handlers: resolves with the claims when the request
 * may go on, or with null once it has answered the refusal itself.
 *
 * ```ts
 * const guard = createNodeGuard({ issuer, audience: 'countersign' })
 * http.createServer(async (req, res) => {
 *   const claims = await guard(req, res)
 *   if (!claims) return
 *   ...
 * })
 * ```
 */
export function createNodeGuard(options: GuardOptions<IncomingMessage>): (request: IncomingMessage, response: ServerResponse) => Promise<AccessTokenClaims | null> {
  const { realm, scopes } = checkGuardOptions(options)
  return async (request, response) => {
    const verdict = await judge(request.headers.authorization, request, options, realm, scopes)
    if (verdict.ok) return verdict.claims
    const { status, headers, body } = verdict.refusal
    response.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
    response.end(JSON.stringify(body))
    return null
  }
}
