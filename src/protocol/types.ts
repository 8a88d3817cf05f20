/**
 * Data shapes of the approval protocol as the runtime sees them: validated,
 * camel-cased, with relative lifetimes turned into absolute epoch-ms times.
 * Every shape here is plain JSON data, so it can live in a persisted snapshot.
 */

/** What discovery tells us about a server (RFC 8414 / OpenID Discovery plus our extensions). */
export interface ServerMetadata {
  issuer: string
  deviceAuthorizationEndpoint: string
  tokenEndpoint: string
  revocationEndpoint: string | null
  jwksUri: string | null
  /** True when the server names any `countersign_*` field; false means a plain RFC 8628 provider. */
  countersign: boolean
  /** `countersign_long_poll_supported`: the token endpoint accepts `wait=N` (protocol §3.2). */
  longPollSupported: boolean
  /** `countersign_agent_registration_supported`: agent_name / agent_id / username are understood (§2). */
  agentRegistrationSupported: boolean
}

/** Options every request function takes. */
export interface RequestOptions {
  /** Cancels the request; passed down to fetch. */
  signal?: AbortSignal
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch
}

/** Who the approval is for: a new agent, or an existing one by id or username. */
export type AgentIntent =
  | { intent: 'register'; name: string; username?: string }
  | { intent: 'login'; agentId: string }
  | { intent: 'login'; username: string }

export interface DeviceAuthorizationParams {
  clientId: string
  scope?: string
  /** Sent only to servers that advertise agent registration; a plain provider signs in whoever approves. */
  agent?: AgentIntent
  /** Sent as the `Idempotency-Key` header, only to countersign servers. */
  idempotencyKey?: string
}

/** An approval that has been asked for and waits for a human (RFC 8628 §3.2). */
export interface DeviceAuthorization {
  deviceCode: string
  userCode: string
  verificationUri: string
  verificationUriComplete: string | null
  /** Absolute epoch ms after which the device code is dead. */
  expiresAt: number
  /** Minimum wait between polls the server asked for, or null when it named none. */
  intervalMs: number | null
  /** Our extension; null from a plain provider. */
  agentId: string | null
}

/** A token set with absolute expiry times. */
export interface TokenSet {
  accessToken: string
  tokenType: string
  /** Absolute epoch ms; null when the server did not say (`expires_in` is optional in RFC 6749). */
  accessExpiresAt: number | null
  refreshToken: string | null
  refreshExpiresAt: number | null
  scope: string | null
  agentId: string | null
  /** When the answer was received (epoch ms); the base of the lifetimes above. */
  obtainedAt: number
}

/** The answer to one device-code poll (protocol §3.1). */
export type PollResult =
  | { kind: 'tokens'; tokens: TokenSet }
  | { kind: 'pending' }
  | { kind: 'slowDown' }
  | { kind: 'denied'; description: string | null }
  | { kind: 'expired'; description: string | null }
  | { kind: 'invalidGrant'; description: string | null }

/** What kind of token `revoke()` is handed (RFC 7009 `token_type_hint`). */
export type TokenTypeHint = 'access_token' | 'refresh_token'
