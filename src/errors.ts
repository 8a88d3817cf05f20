/**
 * Errors of countersign: one base class with a stable `code`, and named
 * subclasses only where callers branch on the type. Caller mistakes are
 * `TypeError`s naming the argument and are thrown at once, never reported
 * through these classes.
 */

/** Every stable error code, in one place. */
export const ErrorCodes = {
  /** The human denied the approval request. */
  APPROVAL_DENIED: 'approval_denied',
  /** The server says the device code expired before anyone decided. */
  APPROVAL_EXPIRED: 'approval_expired',
  /** The caller's own deadline passed before the approval was decided. */
  APPROVAL_TIMEOUT: 'approval_timeout',
  /** The wait was aborted through an AbortSignal. */
  ABORTED: 'aborted',
  /** A refresh failed for good (invalid_grant, revoked, no session). */
  TOKEN_REFRESH_FAILED: 'token_refresh_failed',
  /** The runtime holds no usable session; a new login is needed. */
  NOT_AUTHENTICATED: 'not_authenticated',
  /** The server answered with an OAuth error the flow cannot continue from. */
  OAUTH_ERROR: 'oauth_error',
  /** The server answered something that does not follow the protocol. */
  INVALID_RESPONSE: 'invalid_response',
  /** The request never got an answer: refused, reset, timed out. */
  NETWORK_ERROR: 'network_error',
  /** A resource server requires scopes the token does not carry. */
  INSUFFICIENT_SCOPE: 'insufficient_scope',
  /** A request was refused with 401 even after one refresh. */
  UNAUTHORIZED: 'unauthorized',
  /** A resource server's verification refused an access token (bad signature, issuer, audience, expired ...). */
  INVALID_TOKEN: 'invalid_token',
  /** A persisted file could not be parsed; it was kept, not overwritten. */
  CORRUPT_FILE: 'corrupt_file',
  /** Another live process holds the file's writer lock. */
  FILE_LOCKED: 'file_locked',
  /** A compare-and-set save lost against a newer record. */
  STORE_CONFLICT: 'store_conflict',
  /** A persisted envelope could not be restored (unknown version, bad snapshot). */
  RESTORE_FAILED: 'restore_failed',
  /** The live socket's send queue is full. */
  QUEUE_FULL: 'queue_full',
  /** The live socket was closed; the message was not sent. */
  SOCKET_CLOSED: 'socket_closed',
  /** The agent's credentials were revoked by the server or its owner. */
  REVOKED: 'revoked',
  /** The component was disposed and can no longer be used. */
  DISPOSED: 'disposed',
} as const

/** One of the stable codes in `ErrorCodes`: what a program branches on. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** The options of every countersign error's constructor. */
export interface CountersignErrorOptions {
  /** The error that led to this one. */
  cause?: unknown
  /** HTTP status of the answer that led to the error, where there was one. */
  status?: number
  /** The OAuth `error` field of that answer, where there was one. */
  oauthError?: string
}

/** Base class of every run-time failure reported by countersign. */
export class CountersignError extends Error {
  override name = 'CountersignError'
  readonly code: ErrorCode
  readonly status: number | undefined
  readonly oauthError: string | undefined

  constructor(code: ErrorCode, message: string, options: CountersignErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options.status
    this.oauthError = options.oauthError
  }
}

export class ApprovalDeniedError extends CountersignError {
  override name = 'ApprovalDeniedError'
  constructor(message = 'the approval request was denied', options: CountersignErrorOptions = {}) {
    super(ErrorCodes.APPROVAL_DENIED, message, { oauthError: 'access_denied', ...options })
  }
}

export class ApprovalExpiredError extends CountersignError {
  override name = 'ApprovalExpiredError'
  constructor(message = 'the approval request expired before it was approved', options: CountersignErrorOptions = {}) {
    super(ErrorCodes.APPROVAL_EXPIRED, message, { oauthError: 'expired_token', ...options })
  }
}

export class ApprovalTimeoutError extends CountersignError {
  override name = 'ApprovalTimeoutError'
  constructor(message = 'gave up waiting for approval: the timeout passed', options: CountersignErrorOptions = {}) {
    super(ErrorCodes.APPROVAL_TIMEOUT, message, options)
  }
}

export class TokenRefreshError extends CountersignError {
  override name = 'TokenRefreshError'
  constructor(message: string, options: CountersignErrorOptions & { code?: ErrorCode } = {}) {
    super(options.code ?? ErrorCodes.TOKEN_REFRESH_FAILED, message, options)
  }
}

export class InsufficientScopeError extends CountersignError {
  override name = 'InsufficientScopeError'
  /** The scopes the resource server asked for, as it named them. */
  readonly requiredScopes: string[]
  constructor(requiredScopes: string[], message?: string, options: CountersignErrorOptions = {}) {
    super(
      ErrorCodes.INSUFFICIENT_SCOPE,
      message ?? `the token lacks a required scope${requiredScopes.length ? `: ${requiredScopes.join(' ')}` : ''}`,
      { status: 403, oauthError: 'insufficient_scope', ...options },
    )
    this.requiredScopes = requiredScopes
  }
}

export class NetworkError extends CountersignError {
  override name = 'NetworkError'
  constructor(message: string, options: CountersignErrorOptions = {}) {
    super(ErrorCodes.NETWORK_ERROR, message, options)
  }
}

/** A persisted file could not be parsed. `path` names it; `keptAt` says where it was kept. */
export class CorruptFileError extends CountersignError {
  override name = 'CorruptFileError'
  readonly path: string
  keptAt: string | undefined
  constructor(path: string, options: CountersignErrorOptions & { keptAt?: string } = {}) {
    super(ErrorCodes.CORRUPT_FILE, `the file ${path} is corrupt and was not used${options.keptAt ? ` (kept at ${options.keptAt})` : ''}`, options)
    this.path = path
    this.keptAt = options.keptAt
  }
}

/** The AbortError shape of the platform, so `err.name === 'AbortError'` checks keep working. */
export class AbortError extends CountersignError {
  override name = 'AbortError'
  constructor(message = 'the operation was aborted', options: CountersignErrorOptions = {}) {
    super(ErrorCodes.ABORTED, message, options)
  }
}

/** Throws a TypeError naming the argument when `ok` is false. */
export function assertArgument(ok: unknown, name: string, expected: string): asserts ok {
  if (!ok) throw new TypeError(`${name} must be ${expected}`)
}
