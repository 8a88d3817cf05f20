/**
 * `auth.tokenProvider`: the call every request and socket of an agent makes.
 *
 * The hot path reads two fields: the runtime's hot token (a resolved promise
 * of the current access token and the time until which it may be handed out
 * without a look at the session) and a recent clock reading. Everything else
 * (waiting for a sign-in, asking the machine for a refresh, serving a token
 * that still lives while a refresh is retried, saying why there is none)
 * happens on the precise path, which reads the clock itself and, when the
 * token is fresh, leaves a hot token for the next callers.
 *
 * With a custom clock (a simulated one in tests) every call reads that clock:
 * what a test sets is exactly what the provider sees.
 */
import { isExpiring } from '../../machines/auth.js'
import { systemClock } from '../clock.js'
import { ErrorCodes, TokenRefreshError } from '../errors.js'
import { disposedError, errorOfFailure, notAuthenticated } from './failures.js'
import { TRUST_MS } from './hot-token.js'
import { RecentTime } from './recent-time.js'
import type { TokenHost } from './token-host.js'

/** One reading for every manager of the process on the system clock. */
const systemRecentTime = new RecentTime(systemClock, TRUST_MS)

export function tokenProviderOf(runtime: TokenHost): () => Promise<string> {
  if (runtime.config.clock !== systemClock) {
    const clock = runtime.config.clock
    return () => {
      const tokens = runtime.tokens
      if (tokens !== null && !isExpiring(tokens, runtime.skewMs, clock.now())) return Promise.resolve(tokens.accessToken)
      return slowToken(runtime, null)
    }
  }
  const recent = systemRecentTime
  return () => {
    const hot = runtime.hot
    if (hot !== null && recent.value < hot.until) return hot.promise
    return slowToken(runtime, recent)
  }
}

async function slowToken(runtime: TokenHost, recent: RecentTime | null): Promise<string> {
  if (runtime.settling) await runtime.ready()
  let asked = false
  for (;;) {
    const tokens = runtime.tokens
    const now = recent === null ? runtime.config.clock.now() : recent.read()
    if (tokens !== null && !isExpiring(tokens, runtime.skewMs, now)) {
      if (recent !== null) runtime.warm(tokens)
      return tokens.accessToken
    }
    if (runtime.state === 'disposed') throw disposedError()
    if (tokens === null) {
      if (runtime.state !== 'authenticating') throw notAuthenticatedError(runtime)
      await runtime.waitFor(() => runtime.state !== 'authenticating')
      continue
    }
    const stillValid = tokens.accessExpiresAt === null || now < tokens.accessExpiresAt
    const retrying = runtime.faultsSinceTokens > 0
    // Asked already, or the machine is retrying a refresh that failed while the old token lives: no new token is
    // coming at once, and the old one serves.
    if (asked || tokens.refreshToken === null || (retrying && (stillValid || runtime.follower))) {
      // The refresh did not bring a new token (yet): the old one serves while it lives.
      if (stillValid) return tokens.accessToken
      const fault = runtime.lastRefreshFault
      throw new TokenRefreshError(
        runtime.follower
          ? 'the access token expired and the process that keeps this session (its store is read-only here) has saved no newer one'
          : tokens.refreshToken === null
          ? 'the access token expired and there is no refresh token; a new login is needed'
          : `the access token expired and the refresh has not succeeded yet${fault ? ` (${fault.message})` : ''}`,
        { code: fault?.code ?? ErrorCodes.TOKEN_REFRESH_FAILED },
      )
    }
    // Expired while a refresh is retried: wait for its next attempt (tried at once when its fault is old), bounded.
    if (retrying) await withinMs(runtime, runtime.refreshOnce(), runtime.config.tokenWaitMs)
    else await runtime.refreshOnce()
    asked = true
  }
}

/** Settles with `work`, or resolves once `ms` have passed on the runtime's clock, whichever comes first. */
function withinMs(runtime: TokenHost, work: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) {
    work.catch(() => {})
    return Promise.resolve()
  }
  const clock = runtime.config.clock
  let handle: unknown
  const timeout = new Promise<void>((resolve) => {
    handle = clock.setTimeout(resolve, ms)
  })
  return Promise.race([work, timeout]).finally(() => clock.clearTimeout(handle))
}

/** Why there is no token: the session's failure when it ended on one, else what state it is in. */
export function notAuthenticatedError(runtime: TokenHost): TokenRefreshError {
  const failure = runtime.failure
  if (failure !== null && failure.code === ErrorCodes.TOKEN_REFRESH_FAILED) return errorOfFailure(failure) as TokenRefreshError
  if (runtime.state === 'disposed') return new TokenRefreshError('the AuthManager was disposed', { code: ErrorCodes.DISPOSED })
  const detail = runtime.state === 'pendingApproval' || runtime.state === 'starting' ? 'an approval is still pending' : runtime.state === 'revoking' ? 'the session is being revoked' : undefined
  return notAuthenticated(detail)
}
