/**
 * Following a signed-in session as it lives: each refresh with the new
 * expiry, refresh faults with the retry time, and the end of the session.
 * Used by `watch` and `demo`. Nothing printed carries a token.
 */
import type { AuthLifecycleEvent, AuthManager, Session } from '../auth/index.js'
import { CountersignError, ErrorCodes } from '../errors.js'
import type { Output } from './output.js'
import { clockTime, isoTime } from './time.js'

/**
 * What ends a command that follows a session: Ctrl-C, a termination
 * request, and the terminal going away (SIGHUP), whose default action would
 * kill the process before the store and server are closed.
 */
export const FOLLOW_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

export interface SessionFollower {
  /** Rejects with a NOT_AUTHENTICATED error when the session ends (invalid_grant, revoked); never resolves otherwise. */
  readonly ended: Promise<never>
  /** The latest public session state. */
  readonly session: Session | null
  stop(): void
}

export function followSession(auth: AuthManager, output: Output): SessionFollower {
  let latest: Session | null = null
  let refreshes = 0
  let fail!: (error: CountersignError) => void
  const ended = new Promise<never>((_, reject) => (fail = reject))
  ended.catch(() => {})
  const sessions = auth.session$.subscribe((session) => (latest = session))
  // A lifecycle event and the session it leads to are published in the same turn; a timer later both have arrived.
  let stopped = false
  const later = (print: () => void) => setTimeout(() => stopped || print(), 0)
  const events = auth.events$.subscribe((event: AuthLifecycleEvent) => {
    switch (event.type) {
      case 'refreshed':
        later(() => {
          refreshes++
          const expiresAt = latest?.accessExpiresAt ?? null
          output.event(
            'refreshed',
            { count: refreshes, at: isoTime(event.at), accessExpiresAt: isoTime(expiresAt), refreshAt: isoTime(latest?.refreshAt) },
            `Refreshed the access token (#${refreshes})${expiresAt === null ? '' : ` · it expires ${clockTime(expiresAt)}`}`,
          )
        })
        break
      case 'refreshFailed':
        output.event(
          'refreshFailed',
          { code: event.failure.code, message: event.failure.message, retryAt: isoTime(event.retryAt) },
          `Refresh failed: ${event.failure.message}${event.retryAt === null ? '' : `; trying again at ${clockTime(event.retryAt)}`}`,
        )
        break
      case 'faultRetry':
        output.event(
          'faultRetry',
          { effect: event.effect, code: event.failure.code, message: event.failure.message, retryAt: isoTime(event.retryAt) },
          `${event.failure.message}; trying again at ${clockTime(event.retryAt)}`,
        )
        break
      case 'sessionEnded':
        output.event('sessionEnded', { code: event.failure.code, message: event.failure.message }, `The session ended: ${event.failure.message}`)
        fail(new CountersignError(ErrorCodes.NOT_AUTHENTICATED, `the session ended (${event.failure.message}); log in again`))
        break
      case 'revoked':
        output.event('revoked', { confirmed: event.confirmed }, 'The session was revoked.')
        fail(new CountersignError(ErrorCodes.REVOKED, 'the session was revoked; log in again'))
        break
      case 'restoreFailed':
      case 'storeFailed':
        output.event(event.type, { code: event.failure.code, message: event.failure.message }, `Warning: ${event.failure.message}`)
        break
    }
  })
  return {
    ended,
    get session() {
      return latest
    },
    stop() {
      stopped = true
      sessions.unsubscribe()
      events.unsubscribe()
    },
  }
}
