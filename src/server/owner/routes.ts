/**
 * Protocol §6: the owner (human) API. JSON in and out; a session cookie;
 * every state-changing request carries the session's CSRF token in
 * `X-CSRF-Token` (a synchronizer token kept with the session and compared in
 * constant time; @fastify/csrf-protection keeps its secret in a cookie of its
 * own, which does not fit a token handed out once at sign-in).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ServerContext } from '../context.js'
import { OAuthFailure, sendFailure } from '../oauth/failure.js'
import { authenticateOwner, checkOwnerCredentials, createOwner } from '../owners.js'
import { agentsOfOwner, ownedAgent } from './agents.js'
import { approvalOrFailure, approvalView, lookUpApproval } from './approval-view.js'
import { SIGN_IN_LIMITS, SignInGuard } from './sign-in-guard.js'
import { userCodeGuardOf } from './user-code-guard.js'
import { currentSession, endSession, requireOwner, startSession } from './session.js'

type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/** Answers an OAuthFailure with its status and `{ error, error_description }`; owner answers are never cached. */
function guarded(handler: Handler): Handler {
  return async (request, reply) => {
    reply.header('cache-control', 'no-store')
    try {
      return await handler(request, reply)
    } catch (error) {
      if (error instanceof OAuthFailure) return sendFailure(reply, error)
      throw error
    }
  }
}

/**
 * Email and password from a JSON body. Only JSON is taken: a cross-site HTML
 * form cannot send it, so nobody can be signed in to someone else's account.
 */
function credentialsOf(request: FastifyRequest): { email: string; password: string } {
  const type = request.headers['content-type'] ?? ''
  const body = request.body
  if (!/^application\/json\b/i.test(type) || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new OAuthFailure(400, 'invalid_request', 'the body must be a JSON object: { "email": ..., "password": ... }')
  }
  const { email, password } = body as Record<string, unknown>
  const problem = checkOwnerCredentials(email, password)
  if (problem !== null) throw new OAuthFailure(400, 'invalid_request', problem)
  return { email: email as string, password: password as string }
}

/** Sign-in requests per minute per address allowed at most, as a multiple of `rateLimit`: a bound on floods only. */
const SIGN_IN_FLOOD_FACTOR = 10

function tooMany(description: string, retryAfterSeconds: number): OAuthFailure {
  return new OAuthFailure(429, 'too_many_requests', description, { 'retry-after': String(retryAfterSeconds) })
}

function paramOf(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, unknown>)[name]
  return typeof value === 'string' ? value : ''
}

export async function registerOwnerApi(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const signUpLimit = { rateLimit: { max: ctx.options.rateLimit, timeWindow: 60_000 } }
  // Only a bound on floods (each attempt costs a password hash): wrong passwords are limited by the sign-in guard.
  const signInLimit = { rateLimit: { max: ctx.options.rateLimit * SIGN_IN_FLOOD_FACTOR, timeWindow: 60_000 } }
  const signIns = new SignInGuard({ ...SIGN_IN_LIMITS, addressFailures: ctx.options.rateLimit })

  app.post('/api/owners', { config: signUpLimit }, guarded(async (request, reply) => {
    if (!ctx.options.signup) {
      throw new OAuthFailure(403, 'signup_disabled', 'sign-up is turned off on this server; ask its operator for an account')
    }
    const guessing = userCodeGuardOf(ctx).addressLimited(request.ip, ctx.now())
    if (guessing) throw tooMany(`too many wrong user codes from this address to open an account; try again in ${guessing.retryAfterSeconds} seconds`, guessing.retryAfterSeconds)
    const { email, password } = credentialsOf(request)
    const owner = await createOwner(ctx.db, email, password, ctx.now())
    if (!owner) throw new OAuthFailure(409, 'email_taken', 'an owner with this email already exists; sign in instead')
    await ctx.db.save()
    return reply.code(201).send({ owner_id: owner.id })
  }))

  app.post('/api/session', { config: signInLimit }, guarded(async (request, reply) => {
    const { email, password } = credentialsOf(request)
    const waiting = signIns.accountWait(email, ctx.now())
    if (waiting > 0) throw tooMany(`too many wrong passwords for this account; try again in ${waiting} seconds`, waiting)
    const owner = await authenticateOwner(ctx.db, email, password)
    if (!owner) {
      const now = ctx.now()
      const overBudget = signIns.addressWait(request.ip, now)
      signIns.failed(email, request.ip, now)
      if (overBudget > 0) throw tooMany(`too many failed sign-ins from this address; try again in ${overBudget} seconds`, overBudget)
      throw new OAuthFailure(401, 'invalid_credentials', 'the email or the password is wrong')
    }
    signIns.succeeded(email)
    const session = await startSession(ctx, request, reply, owner)
    return { owner_id: owner.id, csrf_token: session.csrfToken }
  }))

  app.get('/api/session', guarded(async (request) => {
    const { owner, session } = requireOwner(ctx, request, { csrf: false })
    return { owner_id: owner.id, email: owner.email, csrf_token: session.csrfToken }
  }))

  app.delete('/api/session', guarded(async (request, reply) => {
    // Without a session there is nothing to end; signing out twice is not an error.
    if (!currentSession(ctx, request)) return reply.code(204).send()
    const signedIn = requireOwner(ctx, request, { csrf: true })
    await endSession(ctx, request, reply, signedIn)
    return reply.code(204).send()
  }))

  app.get('/api/approvals/:user_code', guarded(async (request) => {
    const { owner } = requireOwner(ctx, request, { csrf: false })
    return approvalView(approvalOrFailure(lookUpApproval(ctx, owner.id, paramOf(request, 'user_code'), request.ip)))
  }))

  for (const decision of ['approved', 'denied'] as const) {
    const verb = decision === 'approved' ? 'approve' : 'deny'
    app.post(`/api/approvals/:user_code/${verb}`, guarded(async (request) => {
      const { owner } = requireOwner(ctx, request, { csrf: true })
      const code = paramOf(request, 'user_code')
      const lookup = lookUpApproval(ctx, owner.id, code, request.ip)
      // A login request of someone else's agent is refused (counted as a wrong code by the lookup).
      if (lookup.kind === 'missing') {
        const approval = ctx.approvals.byUserCode(lookup.userCode)
        if (approval) throw new OAuthFailure(403, 'access_denied', 'only the owner of this agent can decide its login request')
      }
      const { approval } = approvalOrFailure(lookup)
      await ctx.approvals.decide(approval, owner.id, decision, ctx.now())
      return { status: decision }
    }))
  }

  app.get('/api/agents', guarded(async (request) => {
    const { owner } = requireOwner(ctx, request, { csrf: false })
    return agentsOfOwner(ctx, owner.id)
  }))

  app.post('/api/agents/:agent_id/revoke', guarded(async (request) => {
    const { owner } = requireOwner(ctx, request, { csrf: true })
    const agent = ownedAgent(ctx, owner.id, paramOf(request, 'agent_id'))
    if (!agent) throw new OAuthFailure(404, 'not_found', 'you have no agent with this id')
    const revokedSessions = await ctx.tokens.revokeAgent(agent.id, ctx.now())
    return { agent_id: agent.id, revoked_sessions: revokedSessions }
  }))
}
