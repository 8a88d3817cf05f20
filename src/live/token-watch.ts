/**
 * How a LiveSocket learns that its token rotated, so it re-authenticates in
 * band before the old token expires instead of being closed with 4401:
 * - with an AuthManager (`auth`): its `token$`;
 * - with `tokenChanges$`: each value it emits;
 * - with a bare tokenProvider and neither: by asking the provider again
 *   every `tokenCheckIntervalMs` and comparing.
 * A rotation is announced only when the new token differs from the one the
 * connection holds, so the socket does not re-authenticate for nothing.
 */
import type { Clock } from '../clock.js'
import type { TokenChanges, TokenGate } from '../token-source.js'

export interface TokenWatchOptions {
  changes: TokenChanges | null
  /** Interval of the polling fallback; null: no polling. */
  pollEveryMs: number | null
  gate: TokenGate
  clock: Clock
  /** The token the socket's connection holds (or is about to), or null before the first. */
  held(): string | null
  /** Whether asking the provider makes sense now (an open connection). */
  wanted(): boolean
  rotated(): void
}

/** A token, when a change notification carries one (a string or `{ accessToken }`). */
function tokenIn(value: unknown): string | null | undefined {
  if (typeof value === 'string') return value
  if (value === null) return null
  const accessToken = (value as { accessToken?: unknown } | undefined)?.accessToken
  return typeof accessToken === 'string' ? accessToken : undefined
}

export interface TokenWatch {
  /** Tells the watch which token the socket just took, so a rotation seen meanwhile is not missed. */
  took(token: string): void
  stop(): void
}

/** Starts watching. */
export function watchTokens(options: TokenWatchOptions): TokenWatch {
  const stops: Array<() => void> = []
  /** The latest token the change stream named. */
  let seen: string | null = null
  if (options.changes) {
    const subscription = options.changes.subscribe({
      next: (value) => {
        const token = tokenIn(value)
        // Signed out: nothing to re-authenticate with; the server's 4401 or the source's error will say the rest.
        if (token === null) return
        // A notification that names no token: assume a rotation.
        if (token === undefined) return options.rotated()
        seen = token
        const held = options.held()
        // Before the first token is taken, took() compares instead.
        if (held !== null && token !== held) options.rotated()
      },
      error: () => {},
    })
    stops.push(() => subscription.unsubscribe())
  }
  if (options.pollEveryMs !== null) {
    let timer: unknown
    let stopped = false
    const check = async () => {
      if (stopped) return
      try {
        if (options.wanted() && options.held() !== null) {
          const current = await options.gate.current()
          if (!stopped && current !== options.held()) options.rotated()
        }
      } catch {
        // A failing provider is the connection's business (getToken reports it); polling just tries later.
      } finally {
        if (!stopped) schedule()
      }
    }
    const schedule = () => {
      timer = options.clock.setTimeout(() => void check(), options.pollEveryMs!)
      ;(timer as { unref?: () => void } | null)?.unref?.()
    }
    schedule()
    stops.push(() => {
      stopped = true
      options.clock.clearTimeout(timer)
    })
  }
  return {
    took(token) {
      // The stream named a token other than the one just taken: which is newer is unknown, so check in band.
      if (seen !== null && seen !== token) options.rotated()
    },
    stop() {
      for (const stop of stops.splice(0)) stop()
    },
  }
}
