/**
 * Failures between the machine and the caller: effects reject with the
 * machine's `AuthFailure` shape (with the clock's time), and a failure the
 * machine ended a flow with becomes the error class a caller branches on.
 */
import type { AuthFailure } from '../../machines/auth.js'
import {
  AbortError,
  ApprovalDeniedError,
  ApprovalExpiredError,
  ApprovalTimeoutError,
  CountersignError,
  ErrorCodes,
  TokenRefreshError,
  type CountersignErrorOptions,
} from '../errors.js'

/** What an effect rejects with: the error's code and message, and when it happened. */
export function effectFailure(error: unknown, at: number): AuthFailure & { cause?: unknown } {
  if (error instanceof CountersignError) {
    const failure: AuthFailure = { code: error.code, message: error.message, at }
    if (error.status !== undefined) failure.status = error.status
    if (error.oauthError !== undefined) failure.oauthError = error.oauthError
    return failure
  }
  // Not an answer from the server: the machine reads a failure without a code as a network fault and retries.
  const message = error instanceof Error ? `${error.name}: ${error.message}` : 'an effect failed'
  return { code: ErrorCodes.NETWORK_ERROR, message, at }
}

/** The error a caller sees for a failure the machine recorded. */
export function errorOfFailure(failure: AuthFailure, cause?: unknown): CountersignError {
  const options: CountersignErrorOptions = {}
  if (failure.status !== undefined) options.status = failure.status
  if (failure.oauthError !== undefined) options.oauthError = failure.oauthError
  if (cause !== undefined) options.cause = cause
  switch (failure.code) {
    case ErrorCodes.APPROVAL_DENIED:
      return new ApprovalDeniedError(failure.message, options)
    case ErrorCodes.APPROVAL_EXPIRED:
      return new ApprovalExpiredError(failure.message, options)
    case ErrorCodes.APPROVAL_TIMEOUT:
      return new ApprovalTimeoutError(failure.message, options)
    case ErrorCodes.ABORTED:
      return new AbortError(failure.message, options)
    case ErrorCodes.TOKEN_REFRESH_FAILED:
    case ErrorCodes.NOT_AUTHENTICATED:
      return new TokenRefreshError(failure.message, { ...options, code: failure.code })
    default:
      return new CountersignError(failure.code, failure.message, options)
  }
}

export function notAuthenticated(detail?: string): TokenRefreshError {
  return new TokenRefreshError(`not authenticated${detail ? `: ${detail}` : ''}; register(), login(), setTokens() or resume() first`, {
    code: ErrorCodes.NOT_AUTHENTICATED,
  })
}

export function disposedError(): CountersignError {
  return new CountersignError(ErrorCodes.DISPOSED, 'the AuthManager was disposed')
}
