/**
 * Finding an approval request by the user code a human typed or followed,
 * as one owner may see it, and its JSON shape (protocol §6). Shared by the
 * owner API and the console, so both count wrong codes the same way.
 */
import type { ApprovalState } from '../approvals.js'
import type { ServerContext } from '../context.js'
import type { AgentRecord, ApprovalRecord } from '../model.js'
import { OAuthFailure } from '../oauth/failure.js'
import { USER_CODE_ALPHABET, normalizeUserCode } from '../secrets.js'
import { userCodeGuardOf, type LimitedBy } from './user-code-guard.js'

export type ApprovalLookup =
  | { kind: 'malformed' }
  | { kind: 'limited'; retryAfterSeconds: number; by: LimitedBy }
  | { kind: 'missing'; userCode: string }
  | { kind: 'found'; approval: ApprovalRecord; agent: AgentRecord; state: ApprovalState }

export interface ApprovalView {
  user_code: string
  intent: 'register' | 'login'
  agent: { id: string; name: string; username: string }
  status: ApprovalState
  scope: string
  created_at: string
  expires_at: string
  decided_at: string | null
}

export const USER_CODE_HINT = `a user code is 8 letters from ${USER_CODE_ALPHABET}, like WDJB-MJHT`

/**
 * Looks a code up for `ownerId`. A login request of an agent someone else
 * owns is `missing`: to that owner it does not exist. Every `missing` counts
 * against the budgets of wrong codes of the address and of the owner. An
 * account over its budget finds nothing; from an address over its budget a
 * code that is found is answered and one that is not gets `limited`.
 */
export function lookUpApproval(ctx: ServerContext, ownerId: string, rawCode: unknown, address: string): ApprovalLookup {
  const userCode = typeof rawCode === 'string' ? normalizeUserCode(rawCode) : null
  if (userCode === null) return { kind: 'malformed' }
  const guard = userCodeGuardOf(ctx)
  const now = ctx.now()
  const account = guard.accountLimited(ownerId, now)
  if (account) return { kind: 'limited', ...account }
  const approval = ctx.approvals.byUserCode(userCode)
  const agent = approval && ctx.db.agentsById.get(approval.agentId)
  if (!approval || !agent || (approval.intent === 'login' && agent.ownerId !== ownerId)) {
    const overBudget = guard.addressLimited(address, now)
    guard.miss(address, ownerId, now)
    return overBudget ? { kind: 'limited', ...overBudget } : { kind: 'missing', userCode }
  }
  return { kind: 'found', approval, agent, state: ctx.approvals.stateOf(approval, now) }
}

/** The lookup as the owner API answers it; anything but `found` throws its failure. */
export function approvalOrFailure(lookup: ApprovalLookup): Extract<ApprovalLookup, { kind: 'found' }> {
  switch (lookup.kind) {
    case 'malformed':
      throw new OAuthFailure(400, 'invalid_request', `the user code is not valid: ${USER_CODE_HINT}`)
    case 'limited':
      throw new OAuthFailure(429, 'too_many_requests', `too many wrong user codes ${lookup.by === 'address' ? 'from this address' : 'for this account'}; try again in ${lookup.retryAfterSeconds} seconds`, {
        'retry-after': String(lookup.retryAfterSeconds),
      })
    case 'missing':
      throw new OAuthFailure(404, 'not_found', `no approval request you can see has the user code ${lookup.userCode}`)
    case 'found':
      return lookup
  }
}

export function approvalView(found: Extract<ApprovalLookup, { kind: 'found' }>): ApprovalView {
  const { approval, agent, state } = found
  return {
    user_code: approval.userCode,
    intent: approval.intent,
    agent: { id: agent.id, name: agent.name, username: agent.username },
    status: state,
    scope: approval.scope,
    created_at: new Date(approval.createdAt).toISOString(),
    expires_at: new Date(approval.expiresAt).toISOString(),
    decided_at: approval.decidedAt === null ? null : new Date(approval.decidedAt).toISOString(),
  }
}
