/**
 * What the token provider sees of the runtime: a read-only view of the
 * session, and the few requests it may make (wait, refresh once, keep a
 * fresh token on the fast path). The runtime implements it; the provider
 * assigns none of its fields.
 */
import type { AuthFailure, TokenSet } from '../../machines/auth.js'
import type { HotToken } from './hot-token.js'
import type { ResolvedOptions } from './options.js'
import type { AuthState } from './session.js'

export interface TokenHost {
  readonly config: ResolvedOptions
  readonly state: AuthState
  readonly tokens: TokenSet | null
  readonly skewMs: number
  readonly follower: boolean
  readonly failure: AuthFailure | null
  /** Refresh faults since the latest tokens were obtained. */
  readonly faultsSinceTokens: number
  readonly lastRefreshFault: AuthFailure | null
  /** The fast path's token, or null when a call must look at the session. */
  readonly hot: HotToken | null
  /** Whether a reader must wait for `ready()` first. */
  readonly settling: boolean
  ready(): Promise<void>
  waitFor(check: () => boolean): Promise<void>
  /** One refresh for every caller asking while it runs. */
  refreshOnce(): Promise<void>
  /** Puts `tokens` on the fast path, unless a token is there already. */
  warm(tokens: TokenSet): void
}
