/**
 * The public state of a session, as `auth.state` and `session$` tell it. It
 * carries no token and no device code, so it may be logged.
 */
import { refreshAtOf, type AuthFailure, type TokenSet } from '../../machines/auth.js'
import type { ApprovalInfo } from './flow.js'

/** Where an AuthManager's session stands: `auth.state`, and `state` in `session$`. */
export type AuthState =
  /** The store has not been read yet; resume() or any use reads it. */
  | 'unknown'
  | 'signedOut'
  /** A register or login request is being saved or sent. */
  | 'starting'
  /** A human is asked to approve. */
  | 'pendingApproval'
  /** New tokens arrived and are being saved. */
  | 'authenticating'
  | 'authenticated'
  /** Signed in; a refresh is under way (the current token stays usable). */
  | 'refreshing'
  | 'revoking'
  | 'disposed'

/** The public state of a session. It carries no token and no device code, so it may be logged. */
export interface Session {
  readonly state: AuthState
  readonly agentId: string | null
  readonly scope: string | null
  /** Epoch ms. */
  readonly accessExpiresAt: number | null
  readonly refreshExpiresAt: number | null
  /** When the next refresh is due, epoch ms. */
  readonly refreshAt: number | null
  /** The approval a human is asked for, while one is pending. */
  readonly approval: { readonly userCode: string; readonly approvalUrl: string; readonly expiresAt: number } | null
  /** Why the last flow or session ended. */
  readonly failure: { readonly code: string; readonly message: string } | null
}

export interface SessionParts {
  state: AuthState
  agentId: string | null
  tokens: TokenSet | null
  skewMs: number
  approval: ApprovalInfo | null
  failure: AuthFailure | null
}

export function sessionOf(parts: SessionParts): Session {
  const { state, tokens, approval, failure } = parts
  const pending = state === 'starting' || state === 'pendingApproval'
  return {
    state,
    agentId: parts.agentId,
    scope: tokens?.scope ?? null,
    accessExpiresAt: tokens?.accessExpiresAt ?? null,
    refreshExpiresAt: tokens?.refreshExpiresAt ?? null,
    refreshAt: tokens === null ? null : refreshAtOf(tokens, parts.skewMs),
    approval: pending && approval !== null ? { userCode: approval.userCode, approvalUrl: approval.approvalUrl, expiresAt: approval.expiresAt } : null,
    failure: failure === null ? null : { code: failure.code, message: failure.message },
  }
}
