/**
 * Context helpers of the auth statechart: reading effect results and
 * failures, and the context patches its actions apply. Pure data functions.
 */
import { fromPromise } from 'xstate'
import { backoffDelayMs, failureOf, nextJitter } from './auth.policy.js'
import type { ApprovalRequest, AuthContext, AuthEvent, AuthFailure, PollApprovalOutput, RevokeTokensInput, TokenSet } from './auth.types.js'

/** Stands in for an effect until the runtime provides it; fails loudly instead of retrying forever. */
export function notProvided<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(() => {
    throw new TypeError(`the ${name} actor must be provided with authMachine.provide()`)
  })
}

type Output<T> = { output: T }
type ErrorEvent = { error: unknown }
export const outputOf = <T>(event: unknown) => (event as Output<T>).output
export const errorOf = (event: unknown, context: AuthContext): AuthFailure => failureOf((event as ErrorEvent).error, context.observedAt)
export const doneAt = (event: unknown) => outputOf<{ at: number }>(event).at

export function requestOf(event: AuthEvent): ApprovalRequest {
  const scope = 'scope' in event && typeof event.scope === 'string' ? event.scope : null
  if (event.type === 'REGISTER') {
    return { agent: event.username === undefined ? { intent: 'register', name: event.name } : { intent: 'register', name: event.name, username: event.username }, scope }
  }
  if (event.type === 'LOGIN') {
    if (event.agentId !== undefined) return { agent: { intent: 'login', agentId: event.agentId }, scope }
    if (event.username !== undefined) return { agent: { intent: 'login', username: event.username }, scope }
  }
  return { agent: null, scope }
}

/** Context of a flow that has ended: nothing of the approval or the session is kept. */
export const cleared = {
  request: null,
  idempotencyKey: null,
  approval: null,
  approvalExpiresAt: null,
  longPoll: false,
  callerIntervalMs: null,
  intervalPenaltyMs: 0,
  nextPollAt: null,
  callerDeadline: null,
  pollAttempts: 0,
  tokens: null,
  unsavedTokens: null,
  refreshAt: null,
  agentId: null,
  revokeDeadline: null,
  faults: 0,
  retryAt: null,
  fault: null,
} satisfies Partial<AuthContext>

export function endedFailure(code: AuthFailure['code'], message: string, at: number | null, extra: Partial<AuthFailure> = {}): AuthFailure {
  return { code, message, at, ...extra }
}

/** Draws the next backoff: records the fault and sets `retryAt`. Returns the context patch. */
export function backoffPatch(context: AuthContext, failure: AuthFailure, floorMs = 0) {
  const faults = context.faults + 1
  const jitter = nextJitter(context.jitterSeed)
  const at = failure.at ?? context.observedAt ?? 0
  const retryAt = at + Math.max(floorMs, backoffDelayMs(faults, context.settings, jitter.value))
  return { faults, jitterSeed: jitter.seed, fault: failure, retryAt, observedAt: Math.max(at, context.observedAt ?? at) }
}

export const pollResultOf = (event: unknown) => outputOf<PollApprovalOutput>(event).result

/** Why a poll answer ended the flow. */
export function failureOfPollAnswer(event: unknown): AuthFailure {
  const { result, at } = outputOf<PollApprovalOutput>(event)
  const detail = 'description' in result && result.description ? `: ${result.description}` : ''
  switch (result.kind) {
    case 'denied':
      return endedFailure('approval_denied', `the approval request was denied${detail}`, at, { status: 400, oauthError: 'access_denied' })
    case 'expired':
      return endedFailure('approval_expired', `the approval request expired before it was approved${detail}`, at, { status: 400, oauthError: 'expired_token' })
    default:
      return endedFailure('oauth_error', `the server no longer knows this approval request (invalid_grant)${detail}`, at, { status: 400, oauthError: 'invalid_grant' })
  }
}

/** Refresh tokens first: revoking one revokes its family, access tokens included (protocol §4.2). */
export function tokensToRevoke(context: AuthContext): RevokeTokensInput['tokens'] {
  const sets = [context.unsavedTokens, context.tokens].filter((t): t is TokenSet => t !== null)
  const list: RevokeTokensInput['tokens'] = []
  const seen = new Set<string>()
  const add = (token: string | null, hint: 'refresh_token' | 'access_token') => {
    if (token === null || seen.has(token)) return
    seen.add(token)
    list.push({ token, hint })
  }
  for (const set of sets) add(set.refreshToken, 'refresh_token')
  for (const set of sets) add(set.accessToken, 'access_token')
  return list
}

