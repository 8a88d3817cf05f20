/**
 * A first look at the server before an approval is asked for: its discovery
 * document, within a short time. The runtime would retry an unreachable
 * server with backoff for a while; a person at a terminal wants to hear at
 * once that the URL is wrong or the server is down.
 */
import { NetworkError } from '../errors.js'
import { discover, type ServerMetadata } from '../protocol/index.js'

export const DISCOVERY_TIMEOUT_MS = 10_000

/** The discovery document within `timeoutMs`; `signal` aborts it sooner (an AbortError, not a NetworkError). */
export async function reachServer(server: string, timeoutMs = DISCOVERY_TIMEOUT_MS, signal?: AbortSignal): Promise<ServerMetadata> {
  const timeout = AbortSignal.timeout(timeoutMs)
  try {
    return await discover(server, { signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]) })
  } catch (error) {
    if (error instanceof NetworkError) {
      throw new NetworkError(`could not reach the server at ${server} (${networkReason(error)})`, { cause: error, ...(error.status === undefined ? {} : { status: error.status }) })
    }
    throw error
  }
}

/** "connection refused", "timed out", "503": the part of a network failure a person can act on. */
export function networkReason(error: NetworkError): string {
  if (error.status !== undefined) return `it answered ${error.status}`
  let cause: unknown = error.cause
  let deepest: string | null = null
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    deepest = cause.message
    const code = (cause as NodeJS.ErrnoException).code
    if (code === 'ECONNREFUSED') return 'connection refused'
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found'
    if (code === 'ECONNRESET') return 'connection reset'
    if (cause.name === 'TimeoutError') return 'timed out'
    cause = cause.cause
  }
  // Undici's outer "fetch failed" says nothing; the innermost cause ("bad port", "other side closed") does.
  return deepest ?? error.message
}
