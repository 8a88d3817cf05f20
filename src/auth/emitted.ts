/**
 * What the runtime does with an event the auth actor emitted, once the
 * transition that emitted it is saved: the approval flow learns its news,
 * the refresh counters move, and the event goes out on `events$`.
 */
import type { AuthEmitted, AuthFailure, TokenSet } from '../../machines/auth.js'
import type { SaveFailure } from './after-save.js'
import { effectFailure } from './failures.js'
import { approvalInfoOf, notifyPollAttempt, type Flow } from './flow.js'
import type { AuthLifecycleEvent } from './streams.js'

/** The parts of the runtime an emitted event changes. */
export interface EmittedHost {
  flow: Flow | null
  state: string
  tokens: TokenSet | null
  refreshFaults: number
  faultsSinceTokens: number
  lastRefreshFault: AuthFailure | null
  readonly lastStoreError: unknown
  now(): number
  endFlow(message: string): void
  /** Ends an open flow whose request or approval the store could not keep, and cancels it in the machine. */
  endFlowOnStoreError(flow: Flow, failure: AuthFailure, error: unknown): void
  publishEvent(event: AuthLifecycleEvent): void
}

/**
 * Returns what to publish once the transition is saved. Reads what it must
 * compare against now (the tokens a refresh fault belongs to), and acts at
 * publication.
 */
export function publicationOf(host: EmittedHost, event: AuthEmitted): (failure: SaveFailure) => void {
  const tokensAtEvent = host.tokens
  return (failure) => {
    const flow = host.flow
    switch (event.type) {
      case 'approvalStarted':
        if (flow === null || flow.outcome !== null) break
        if (failure !== null && flow.approval === null) {
          // The approval could not be saved: hand out no handle a restart could not find; say why instead.
          host.endFlowOnStoreError(flow, effectFailure(failure.error, host.now()), failure.error)
          return
        }
        flow.approval = approvalInfoOf(event)
        break
      case 'approvalFailed':
        if (flow !== null && flow.outcome === null) flow.outcome = { failure: event.failure }
        break
      case 'authenticated':
        if (flow !== null && flow.outcome === null && flow.approval !== null) flow.outcome = { failure: null }
        break
      case 'revoked':
        host.endFlow('the approval request was cancelled by revoke()')
        break
      case 'pollAttempt':
        if (flow?.pollListeners) notifyPollAttempt(flow.pollListeners, { attempt: event.attempt, at: event.at })
        break
      case 'faultRetry':
        // A request that cannot be saved is never sent (rule 2): rather than retry behind the caller's back, end it and say why.
        if (event.effect === 'persist' && flow !== null && flow.outcome === null && flow.approval === null && host.state === 'starting') {
          host.endFlowOnStoreError(flow, event.failure, host.lastStoreError)
        }
        break
      case 'refreshFailed':
        host.refreshFaults++
        // Faults count against the tokens they happened with; newer tokens saved meanwhile start afresh.
        if (host.tokens === tokensAtEvent) host.faultsSinceTokens++
        host.lastRefreshFault = event.failure
        break
    }
    host.publishEvent(event)
  }
}
