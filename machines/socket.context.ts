/**
 * Context patches of the LiveSocket statechart: what a failure, an open, a
 * ping or a close does to the data. Pure functions, so the machine file
 * holds only the shape of the chart.
 */
import { fromPromise } from 'xstate'
import { backoffDelayMs, liveSocketSettings, nextJitter, tokenReasonAfter } from './socket.policy.js'
import type { LiveSocketContext, LiveSocketInput, SocketFailure, SocketOutcome, SocketOutcomeReason } from './socket.types.js'

/** Stands in for an effect until the runtime provides it; fails loudly instead of reconnecting forever. */
export function notProvided<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(() => {
    throw new TypeError(`the ${name} actor must be provided with liveSocketMachine.provide()`)
  })
}

export const outputOf = <T>(event: unknown) => (event as { output: T }).output
export const errorOf = (event: unknown) => (event as { error: unknown }).error
export const later = (context: LiveSocketContext, at: number | null | undefined) =>
  at === null || at === undefined ? context.observedAt : Math.max(at, context.observedAt ?? at)

export function initialContext(input: LiveSocketInput | undefined): LiveSocketContext {
  return {
    settings: liveSocketSettings(input?.settings),
    jitterSeed: (input?.jitterSeed ?? 0x5eed_50c) | 0,
    observedAt: null,
    connectionId: 0,
    attempts: 0,
    unauthorizedStreak: 0,
    tokenReason: 'initial',
    tokenStale: false,
    ...connectionCleared,
    authExpiresAt: null,
    retryAt: null,
    lastFailure: null,
    outcome: null,
  }
}

/** Everything that belongs to one connection; cleared when it ends. */
export const connectionCleared = {
  openedAt: null,
  connectDeadline: null,
  reauthDeadline: null,
  nextPingAt: null,
  awaitingPongs: 0,
} as const

/**
 * A connection failed or ended. A connection that had stayed open for
 * `stableAfterMs` was healthy, so the counts of failures start over; a 401
 * or 4401 asks for a new token next time ('expired' when it was due to the
 * token's expiry, else 'unauthorized', which forces a refresh).
 */
export function failurePatch(context: LiveSocketContext, failure: SocketFailure): Partial<LiveSocketContext> {
  const at = failure.at ?? context.observedAt
  const wasStable = context.openedAt !== null && at !== null && at - context.openedAt >= context.settings.stableAfterMs
  const attempts = wasStable ? 0 : context.attempts
  const streak = wasStable ? 0 : context.unauthorizedStreak
  const unauthorized = failure.kind === 'unauthorized'
  return {
    ...connectionCleared,
    lastFailure: failure,
    observedAt: later(context, failure.at),
    attempts,
    unauthorizedStreak: unauthorized ? streak + 1 : streak,
    tokenReason: tokenReasonAfter(failure, context.tokenReason),
  }
}

/** Draws the next reconnect time: full jitter over the grown ceiling, from when the failure happened. */
export function retryPatch(context: LiveSocketContext): Partial<LiveSocketContext> {
  const attempts = context.attempts + 1
  const { seed, value } = nextJitter(context.jitterSeed)
  const from = context.lastFailure?.at ?? context.observedAt ?? 0
  return { attempts, jitterSeed: seed, retryAt: from + backoffDelayMs(attempts, context.settings, value) }
}

const outcomeReasonOf = (failure: SocketFailure): SocketOutcomeReason =>
  failure.kind === 'revoked' ? 'revoked' : failure.kind === 'unauthenticated' ? 'unauthenticated' : 'refused'

export function failedOutcome(context: LiveSocketContext): SocketOutcome {
  const failure = context.lastFailure!
  return { reason: outcomeReasonOf(failure), at: failure.at ?? context.observedAt, failure }
}

export type TimeoutKind = 'handshake' | 'reauth' | 'heartbeat'

export function timeoutFailure(context: LiveSocketContext, what: TimeoutKind, at: number): SocketFailure {
  const { settings } = context
  const message =
    what === 'handshake'
      ? `the WebSocket handshake did not complete within ${settings.connectTimeoutMs} ms`
      : what === 'reauth'
        ? `the server did not answer the in-band auth within ${settings.reauthTimeoutMs} ms`
        : `${context.awaitingPongs} pings went unanswered: the connection is dead`
  return { kind: 'dropped', message, at }
}
