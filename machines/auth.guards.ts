/**
 * The decisions of the auth statechart, as named guards over context and the
 * event at hand (an effect's result or failure, or a caller's event).
 */
import { doneAt, errorOf, pollResultOf } from './auth.context.js'
import { isTransient, mayRetryAtOnce } from './auth.policy.js'
import type { AuthContext } from './auth.types.js'

type GuardArgs = { context: AuthContext; event: unknown }

export const authGuards = {
  isTransientFault: ({ context, event }: GuardArgs) => isTransient(errorOf(event, context)),
  canRetryStart: ({ context, event }: GuardArgs) => isTransient(errorOf(event, context)) && context.faults + 1 < context.settings.maxStartAttempts,
  isApproved: ({ event }: GuardArgs) => pollResultOf(event).kind === 'tokens',
  isPending: ({ event }: GuardArgs) => pollResultOf(event).kind === 'pending',
  isSlowDown: ({ event }: GuardArgs) => pollResultOf(event).kind === 'slowDown',
  isDenied: ({ event }: GuardArgs) => pollResultOf(event).kind === 'denied',
  isExpired: ({ event }: GuardArgs) => pollResultOf(event).kind === 'expired',
  /** The caller's deadline, not the server's expiry, is what has passed. */
  isPastCallerDeadline: ({ context, event }: GuardArgs) =>
    context.callerDeadline !== null &&
    doneAt(event) >= context.callerDeadline &&
    context.callerDeadline < (context.approvalExpiresAt ?? Number.POSITIVE_INFINITY),
  isPastApprovalExpiry: ({ context, event }: GuardArgs) => context.approvalExpiresAt !== null && doneAt(event) >= context.approvalExpiresAt,
  hasRefreshToken: ({ context }: GuardArgs) => context.tokens?.refreshToken != null,
  /** A caller needs a token and the refresh's last fault is old enough to try again before the backoff ends. */
  lastFaultIsOld: ({ context, event }: GuardArgs) => mayRetryAtOnce(context.fault, (event as { at?: number }).at),
  hasScheduledWake: ({ context }: GuardArgs) => context.tokens?.accessExpiresAt != null,
  /** A fault while refreshing is retried, unless the refresh token itself has expired by now: then no retry can help. */
  isTransientWhileRefreshTokenLives: ({ context, event }: GuardArgs) => {
    const failure = errorOf(event, context)
    const expiresAt = context.tokens?.refreshExpiresAt ?? null
    return isTransient(failure) && (expiresAt === null || failure.at === null || failure.at < expiresAt)
  },
}
