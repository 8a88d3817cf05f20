/**
 * One approval flow: a register or login request, from the moment it is
 * asked for until it is approved, fails or is replaced. The ApprovalHandle a
 * caller holds refers to its flow, so a handle of a replaced flow answers
 * with what happened to it instead of waiting on someone else's approval.
 */
import type { AuthFailure } from '../../machines/auth.js'

/** What a human needs to approve; no device code (that one is a secret). */
export interface ApprovalInfo {
  readonly userCode: string
  readonly verificationUri: string
  /** The URL a human opens: `verification_uri_complete` when the server gives one. */
  readonly approvalUrl: string
  /** Epoch ms. */
  readonly expiresAt: number
  readonly agentId: string | null
}

/** One poll for the decision, as `onPollAttempt` is told of it. */
export interface PollAttempt {
  /** 1 for the first poll of this approval. */
  readonly attempt: number
  /** Epoch ms, by the manager's clock. */
  readonly at: number | null
}

export interface Flow {
  /** The Idempotency-Key of the request; it names the flow across restarts. */
  readonly key: string | null
  approval: ApprovalInfo | null
  /** null while open; `failure: null` once approved and the tokens are saved. */
  outcome: { failure: AuthFailure | null } | null
  pollListeners: Set<(attempt: PollAttempt) => void> | null
  /** The store's error when the request could not be saved (and so was never sent). */
  storeError?: unknown
}

export function newFlow(key: string): Flow {
  return { key, approval: null, outcome: null, pollListeners: null }
}

export function approvalInfoOf(source: { userCode: string; verificationUri: string; verificationUriComplete: string | null; expiresAt: number; agentId: string | null }): ApprovalInfo {
  return {
    userCode: source.userCode,
    verificationUri: source.verificationUri,
    approvalUrl: source.verificationUriComplete ?? source.verificationUri,
    expiresAt: source.expiresAt,
    agentId: source.agentId,
  }
}

/** Tells the caller's progress callbacks, outside the transition that emitted the attempt; a callback that throws is ignored. */
export function notifyPollAttempt(listeners: Set<(attempt: PollAttempt) => void>, attempt: PollAttempt): void {
  queueMicrotask(() => {
    for (const listener of listeners) {
      try {
        listener(attempt)
      } catch {
        // The caller's progress callback failed; the wait goes on.
      }
    }
  })
}

