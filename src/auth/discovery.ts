/**
 * Server metadata, discovered once per issuer and shared by every manager in
 * the process: a fleet of agents on one server reads the discovery document
 * once, not once per agent. A failed discovery is forgotten, so the next
 * effect that needs it tries again.
 */
import { AbortError } from '../errors.js'
import { discover } from '../protocol/index.js'
import type { ServerMetadata } from '../protocol/index.js'

const DISCOVERY_TIMEOUT_MS = 30_000

interface SharedDiscovery {
  readonly request: Promise<ServerMetadata>
  /** Aborts the request: on its time limit, or when every caller stopped waiting. */
  readonly controller: AbortController
  /** Callers waiting with a signal of their own. */
  waiting: number
  /** A caller without a signal waits for the end: the request is never given up for want of callers. */
  kept: boolean
  settled: boolean
}

const byIssuer = new Map<string, SharedDiscovery>()

/**
 * The metadata of `issuer`. The shared request is not tied to one caller's
 * signal (that caller leaving must not fail the others); each caller stops
 * waiting when its own signal aborts, and once every caller has stopped the
 * request is aborted, so a manager disposed while a server does not answer
 * leaves no socket open behind it.
 */
export function serverMetadata(issuer: string, fetchImpl: typeof fetch | undefined, signal?: AbortSignal): Promise<ServerMetadata> {
  let shared = byIssuer.get(issuer)
  if (shared === undefined) shared = startDiscovery(issuer, fetchImpl)
  if (signal === undefined) {
    shared.kept = true
    return shared.request
  }
  return untilAborted(shared, signal)
}

function startDiscovery(issuer: string, fetchImpl: typeof fetch | undefined): SharedDiscovery {
  // Cleared when the answer comes, so a finished discovery leaves no timer behind.
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new DOMException('discovery timed out', 'TimeoutError')), DISCOVERY_TIMEOUT_MS)
  timer.unref()
  const request = discover(issuer, { signal: controller.signal, ...(fetchImpl ? { fetch: fetchImpl } : {}) })
  const shared: SharedDiscovery = { request, controller, waiting: 0, kept: false, settled: false }
  byIssuer.set(issuer, shared)
  request.then(
    () => {
      shared.settled = true
      clearTimeout(timer)
    },
    () => {
      shared.settled = true
      clearTimeout(timer)
      if (byIssuer.get(issuer) === shared) byIssuer.delete(issuer)
    },
  )
  return shared
}

/** Forgets what was discovered (tests that restart a server with other settings on the same address). */
export function forgetServerMetadata(issuer?: string): void {
  if (issuer === undefined) byIssuer.clear()
  else byIssuer.delete(issuer)
}

function untilAborted(shared: SharedDiscovery, signal: AbortSignal): Promise<ServerMetadata> {
  if (signal.aborted) return Promise.reject(new AbortError('the request was aborted', { cause: signal.reason }))
  shared.waiting++
  return new Promise<ServerMetadata>((resolve, reject) => {
    const onAbort = () => {
      reject(new AbortError('the request was aborted', { cause: signal.reason }))
      // The last caller left: nobody wants the answer, so the request (and its socket) goes too.
      if (--shared.waiting === 0 && !shared.kept && !shared.settled) shared.controller.abort(new DOMException('every caller stopped waiting', 'AbortError'))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    shared.request.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
