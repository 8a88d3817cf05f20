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

const byIssuer = new Map<string, Promise<ServerMetadata>>()

/**
 * The metadata of `issuer`. The shared request is not tied to one caller's
 * signal (that caller leaving must not fail the others); each caller stops
 * waiting when its own signal aborts.
 */
export function serverMetadata(issuer: string, fetchImpl: typeof fetch | undefined, signal?: AbortSignal): Promise<ServerMetadata> {
  let shared = byIssuer.get(issuer)
  if (shared === undefined) {
    // Cleared when the answer comes, so a finished discovery leaves no timer behind.
    const timeout = new AbortController()
    const timer = setTimeout(() => timeout.abort(new DOMException('discovery timed out', 'TimeoutError')), DISCOVERY_TIMEOUT_MS)
    timer.unref()
    const request = discover(issuer, { signal: timeout.signal, ...(fetchImpl ? { fetch: fetchImpl } : {}) })
    shared = request
    byIssuer.set(issuer, request)
    request.then(
      () => clearTimeout(timer),
      () => {
        clearTimeout(timer)
        if (byIssuer.get(issuer) === request) byIssuer.delete(issuer)
      },
    )
  }
  return signal === undefined ? shared : untilAborted(shared, signal)
}

/** Forgets what was discovered (tests that restart a server with other settings on the same address). */
export function forgetServerMetadata(issuer?: string): void {
  if (issuer === undefined) byIssuer.clear()
  else byIssuer.delete(issuer)
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortError('the request was aborted', { cause: signal.reason }))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError('the request was aborted', { cause: signal.reason }))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
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
