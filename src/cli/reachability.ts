/**
 * A refresh against a server that is down. The runtime retries it with
 * backoff, and waits out a backoff an earlier command saved in the store
 * first: right for an agent that lives on, not for a command a person waits
 * for. So while the session is refreshing, the CLI probes the server once
 * (its discovery document, within PROBE_TIMEOUT_MS); when it cannot be
 * reached, the command says so at once, naming the server and the cause.
 */
import type { AuthManager } from '../auth/index.js'
import { ErrorCodes, NetworkError } from '../errors.js'
import { reachServer } from './server-check.js'

export const PROBE_TIMEOUT_MS = 3_000

export interface ReachabilityWatch {
  /** Rejects with the probe's NetworkError ("could not reach the server at URL (connection refused)"); never resolves. */
  readonly unreachable: Promise<never>
  /** The probe's failure, or null when the server answered; probes now if no refresh started one. */
  probe(): Promise<NetworkError | null>
  /** Stops watching and aborts a probe still waiting for its answer, which would keep the command alive. */
  stop(): void
}

export function watchReachability(auth: AuthManager, server: string): ReachabilityWatch {
  let probing: Promise<NetworkError | null> | null = null
  const stopped = new AbortController()
  let reject!: (error: NetworkError) => void
  const unreachable = new Promise<never>((_, fail) => (reject = fail))
  unreachable.catch(() => {})
  const probe = () => {
    probing ??= reachServer(server, PROBE_TIMEOUT_MS, stopped.signal).then(
      () => null,
      (error: unknown) => {
        // Aborted by stop(), or not a network failure: nothing to report.
        if (!(error instanceof NetworkError)) return null
        reject(error)
        return error
      },
    )
    return probing
  }
  const subscription = auth.session$.subscribe((session) => {
    if (session.state === 'refreshing') void probe()
  })
  const stop = () => {
    subscription.unsubscribe()
    stopped.abort()
  }
  return { unreachable, probe, stop }
}

/** Whether an error is the runtime's report of a network failure (its refresh could not reach the server). */
export function isNetworkFailure(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === ErrorCodes.NETWORK_ERROR
}
