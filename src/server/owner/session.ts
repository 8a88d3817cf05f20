/**
 * Owner sessions: a random id in an HttpOnly cookie, kept on the server only
 * as its hash, with a synchronizer CSRF token that every state-changing
 * request must echo in `X-CSRF-Token`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ServerContext } from '../context.js'
import type { OwnerRecord, OwnerSessionRecord } from '../model.js'
import { OAuthFailure } from '../oauth/failure.js'
import { sha256 } from '../secrets.js'

export const SESSION_COOKIE = 'countersign_session'
export const OWNER_SESSION_TTL_MS = 7 * 24 * 3600_000
/** Beyond this many live sessions an owner's oldest ones are ended, so sign-ins cannot grow the file without bound. */
const MAX_SESSIONS_PER_OWNER = 20

export interface SignedIn {
  owner: OwnerRecord
  session: OwnerSessionRecord
}

/** Cookies are Secure whenever the owner reaches the server over https, directly or by its public URL. */
function isSecure(ctx: ServerContext, request: FastifyRequest): boolean {
  return request.protocol === 'https' || ctx.issuer().startsWith('https:')
}

/** Starts a session for an owner, sets its cookie, and saves it. */
export async function startSession(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply, owner: OwnerRecord): Promise<OwnerSessionRecord> {
  const now = ctx.now()
  const sessionId = randomBytes(32).toString('base64url')
  const session: OwnerSessionRecord = {
    hash: sha256(sessionId),
    ownerId: owner.id,
    csrfToken: randomBytes(24).toString('base64url'),
    createdAt: now,
    expiresAt: now + OWNER_SESSION_TTL_MS,
  }
  const live = ctx.db.data.ownerSessions.filter((held) => held.ownerId === owner.id && held.expiresAt > now)
  for (const old of live.slice(0, Math.max(0, live.length - MAX_SESSIONS_PER_OWNER + 1))) ctx.db.removeOwnerSession(old.hash)
  ctx.db.addOwnerSession(session)
  await ctx.db.save()
  reply.setCookie(SESSION_COOKIE, sessionId, {
    httpOnly: true,
    sameSite: 'lax',
    secure: isSecure(ctx, request),
    path: '/',
    maxAge: Math.floor(OWNER_SESSION_TTL_MS / 1000),
  })
  return session
}

/** The signed-in owner of this request, or null. */
export function currentSession(ctx: ServerContext, request: FastifyRequest): SignedIn | null {
  const sessionId = request.cookies[SESSION_COOKIE]
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 100) return null
  const session = ctx.db.ownerSessionsByHash.get(sha256(sessionId))
  if (!session || session.expiresAt <= ctx.now()) return null
  const owner = ctx.db.ownersById.get(session.ownerId)
  return owner ? { owner, session } : null
}

/** Ends the request's session (if any) and clears its cookie. */
export async function endSession(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply, signedIn: SignedIn): Promise<void> {
  ctx.db.removeOwnerSession(signedIn.session.hash)
  await ctx.db.save()
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: isSecure(ctx, request), path: '/' })
}

/**
 * The signed-in owner, or a 401. With `csrf`, the request must also carry the
 * session's CSRF token (compared in constant time), or it is refused with 403.
 */
export function requireOwner(ctx: ServerContext, request: FastifyRequest, { csrf }: { csrf: boolean }): SignedIn {
  const signedIn = currentSession(ctx, request)
  if (!signedIn) throw new OAuthFailure(401, 'unauthorized', 'sign in first: this request has no valid session cookie')
  if (csrf && !csrfMatches(request.headers['x-csrf-token'], signedIn.session.csrfToken)) {
    throw new OAuthFailure(403, 'csrf_token_mismatch', 'the X-CSRF-Token header is missing or does not match this session (it is returned by sign-in and GET /api/session)')
  }
  return signedIn
}

function csrfMatches(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
