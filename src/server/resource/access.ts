/**
 * Who may use the reference server's resource endpoints (protocol §5): a live
 * access token of this server whose scope holds `agent` or `agent:read`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ServerContext } from '../context.js'
import type { AgentRecord, FamilyRecord } from '../model.js'
import type { AccessClaims } from '../tokens.js'
import { bearerCredentials, insufficientScope, invalidToken, refusalFor, scopesOf, type BearerRefusal } from './bearer.js'

export const REALM = 'countersign'

/**
 * Either scope is enough: `agent` is the full grant a default login gets,
 * `agent:read` a narrower one for processes that only look. `agent:write`
 * alone does not let a process read who it is.
 */
export const READ_SCOPES = ['agent', 'agent:read'] as const

export interface Granted {
  token: string
  claims: AccessClaims
  agent: AgentRecord
  family: FamilyRecord
}

export type AccessDecision = { ok: true; granted: Granted } | { ok: false; refusal: BearerRefusal }

export function hasReadScope(claims: AccessClaims): boolean {
  const scopes = scopesOf(claims.scope)
  return READ_SCOPES.some((scope) => scopes.has(scope))
}

export function readScopeRefusal(): BearerRefusal {
  // `scope` names the narrowest scope that suffices; the description names both.
  return insufficientScope(`this endpoint needs an access token with the scope ${READ_SCOPES.join(' or ')}`, 'agent:read', { realm: REALM })
}

/** Checks a token already taken out of its carrier (a header, or an in-band auth message). */
export async function checkToken(ctx: ServerContext, token: string): Promise<AccessDecision> {
  const check = await ctx.tokens.checkAccess(token, ctx.now())
  if (!check.ok) return { ok: false, refusal: invalidToken(check.reason, { realm: REALM }) }
  if (!hasReadScope(check.claims)) return { ok: false, refusal: readScopeRefusal() }
  return { ok: true, granted: { token, claims: check.claims, agent: check.agent, family: check.family } }
}

export async function checkRequest(ctx: ServerContext, request: FastifyRequest): Promise<AccessDecision> {
  const credentials = bearerCredentials(request.headers.authorization)
  if (credentials.kind !== 'token') return { ok: false, refusal: refusalFor(credentials, { realm: REALM }) }
  return checkToken(ctx, credentials.token)
}

export function sendRefusal(reply: FastifyReply, refusal: BearerRefusal): FastifyReply {
  return reply.code(refusal.status).header('www-authenticate', refusal.challenge).header('cache-control', 'no-store').send(refusal.body)
}
