/**
 * Shapes of the auth lifecycle statechart: its context, events, the inputs
 * and outputs of the effects it names, and what it emits. All of it is plain
 * JSON data: the context is persisted as the snapshot of a running agent.
 */
import type { ErrorCode } from '../src/errors.js'
import type { AgentIntent, DeviceAuthorization, PollResult, TokenSet, TokenTypeHint } from '../src/protocol/types.js'

export type { AgentIntent, DeviceAuthorization, PollResult, TokenSet, TokenTypeHint }

/** Tunables, kept in context so a restored actor behaves as the one that saved it. Times in ms. */
export interface AuthSettings {
  /** Refresh this long before the access token expires. */
  refreshSkewMs: number
  /** Poll interval when neither the server nor the caller names one. */
  defaultPollIntervalMs: number
  /** Added to the poll interval, for good, on each slow_down. */
  slowDownStepMs: number
  /** First backoff delay after a transient fault; doubles per fault. */
  backoffBaseMs: number
  /** Backoff never waits longer than this. */
  backoffMaxMs: number
  /** Long-poll wait asked of a server that supports it (1-30 s). */
  longPollSeconds: number
  /** Attempts at starting an approval before giving up on transient faults. */
  maxStartAttempts: number
  /** How long a best-effort revocation may take. */
  revokeTimeoutMs: number
}

/** What the runtime passes to `createActor(authMachine, { input })`. */
export interface AuthInput {
  settings?: Partial<AuthSettings>
  /** Seed of the jitter sequence (any 32-bit integer); the runtime passes a random one. */
  jitterSeed?: number
}

/** What a REGISTER or LOGIN asked for. `agent` null: a plain device login on a standard provider. */
export interface ApprovalRequest {
  agent: AgentIntent | null
  scope: string | null
}

/**
 * A failure as data. Effects reject with this shape (see `failureOf` for how
 * anything else is read); `at` is the clock's time when it happened.
 */
export interface AuthFailure {
  code: ErrorCode
  message: string
  at: number | null
  status?: number
  oauthError?: string
}

/** Every effect reports the clock's time when it finished. */
export interface Timed {
  at: number
}

export type PersistReason = 'approvalRequest' | 'tokens'

/**
 * `persist`: save the actor's persisted snapshot (the runtime reads it from
 * the actor) and, for seed-shaped stores, the tokens. Barrier before a
 * register/login request is sent and before tokens are published.
 */
export interface PersistInput {
  reason: PersistReason
  tokens: TokenSet | null
}
export type PersistOutput = Timed

/** `startApproval`: the device authorization request, with the saved Idempotency-Key. */
export interface StartApprovalInput {
  request: ApprovalRequest
  idempotencyKey: string
}
export interface StartApprovalOutput extends Timed {
  approval: DeviceAuthorization
  /** The server supports long-polling and the runtime wants it. */
  longPoll: boolean
}

/** `pollApproval`: one device-code token request. */
export interface PollApprovalInput {
  deviceCode: string
  /** Long-poll seconds (1-30), or null for a plain poll. */
  waitSeconds: number | null
}
export interface PollApprovalOutput extends Timed {
  result: PollResult
  /** When the request was sent; the poll interval counts from there for long-polls. */
  sentAt: number
}

/** `refreshTokens`: one refresh-token grant. */
export interface RefreshTokensInput {
  refreshToken: string
}
export interface RefreshTokensOutput extends Timed {
  tokens: TokenSet
}

/** `revokeTokens`: RFC 7009 revocation of each token, refresh tokens first; best effort. */
export interface RevokeTokensInput {
  tokens: Array<{ token: string; hint: TokenTypeHint }>
}
export type RevokeTokensOutput = Timed

/** `sleepUntil`: resolve once the clock reaches `until` (absolute epoch ms). */
export interface SleepUntilInput {
  until: number
}
export type SleepUntilOutput = Timed

export interface AuthContext {
  settings: AuthSettings
  /** State of the jitter sequence; advanced each time a backoff is drawn. */
  jitterSeed: number
  /** The latest clock reading an effect or event reported. */
  observedAt: number | null

  request: ApprovalRequest | null
  idempotencyKey: string | null
  approval: DeviceAuthorization | null
  approvalExpiresAt: number | null
  longPoll: boolean
  /** The poll interval the waiting caller asked for. */
  callerIntervalMs: number | null
  /** Sum of slow_down steps; never shrinks within one approval. */
  intervalPenaltyMs: number
  nextPollAt: number | null
  callerDeadline: number | null
  pollAttempts: number

  /** The saved, current token set: what may be published. */
  tokens: TokenSet | null
  /** A token set received but not saved yet: never published. */
  unsavedTokens: TokenSet | null
  refreshAt: number | null
  agentId: string | null
  revokeDeadline: number | null

  /** Consecutive transient faults of the current step, and when it is tried again. */
  faults: number
  retryAt: number | null
  /** The latest transient fault (informational). */
  fault: AuthFailure | null
  /** Why the last flow or session ended; null after a clean sign-out. */
  failure: AuthFailure | null
}

export type AuthEvent =
  | { type: 'REGISTER'; name: string; username?: string; scope?: string; idempotencyKey: string }
  | { type: 'LOGIN'; agentId?: string; username?: string; scope?: string; idempotencyKey: string }
  /** Start (or keep) polling: `at` is now; `deadline` the caller's absolute give-up time. */
  | { type: 'WAIT'; at: number; intervalMs?: number; deadline?: number }
  | { type: 'ABORT'; at?: number }
  /** `at`: when a caller asked (epoch ms); lets a refresh that is backing off be tried at once when its last fault is old. */
  | { type: 'REFRESH'; at?: number }
  | { type: 'SET_TOKENS'; tokens: TokenSet }
  | { type: 'REVOKE'; at: number }

/** The effects whose faults are retried, as `faultRetry` events name them. */
export type EffectName = 'persist' | 'startApproval' | 'pollApproval' | 'refreshTokens'

/** Lifecycle events, for `actor.on(type, ...)`. None carries a token or a device code. */
export type AuthEmitted =
  | {
      type: 'approvalStarted'
      at: number
      userCode: string
      verificationUri: string
      verificationUriComplete: string | null
      agentId: string | null
      expiresAt: number
    }
  | { type: 'pollAttempt'; attempt: number; at: number | null }
  | { type: 'faultRetry'; effect: EffectName; failure: AuthFailure; retryAt: number }
  | { type: 'approvalFailed'; failure: AuthFailure }
  | { type: 'authenticated'; at: number; agentId: string | null }
  | { type: 'refreshed'; at: number }
  | { type: 'refreshFailed'; failure: AuthFailure; retryAt: number | null }
  | { type: 'sessionEnded'; failure: AuthFailure }
  | { type: 'revoked'; at: number | null; confirmed: boolean }

/** `published`: `context.tokens` is saved and current; the runtime publishes from these states only. */
export type AuthTag = 'published'
