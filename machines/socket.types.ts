/**
 * Types of the LiveSocket statechart: its settings, context, events, the
 * inputs and outputs of the effects it invokes, and what it emits. Plain
 * data only, so a snapshot's context is JSON-serializable.
 */

/** Why a token is asked for. 'unauthorized' means the server refused the last one: refresh, do not reuse it. */
export type TokenReason = 'initial' | 'expired' | 'unauthorized'

/** Timings of a LiveSocket: backoff, heartbeat and time limits (`options.settings`). */
export interface LiveSocketSettings {
  /** First reconnect delay ceiling; doubles per consecutive failure. */
  backoffBaseMs: number
  /** Ceiling of every reconnect delay. */
  backoffMaxMs: number
  /** Time between two pings on an open connection. */
  pingIntervalMs: number
  /** Pings left unanswered when the next one is due that declare the connection dead. */
  maxMissedPongs: number
  /** Longest a WebSocket handshake may take. */
  connectTimeoutMs: number
  /** Longest an in-band re-authentication may wait for `auth_ok`. */
  reauthTimeoutMs: number
  /**
   * A connection that stayed open this long was healthy: its failure starts
   * the backoff over. Shorter-lived ones keep growing it, so a server that
   * accepts and drops at once is not hammered.
   */
  stableAfterMs: number
}

export interface LiveSocketInput {
  settings?: Partial<LiveSocketSettings>
  /** Seed of the jitter sequence; the runtime passes a random one so a fleet does not reconnect in step. */
  jitterSeed?: number
}

/**
 * How a connection ended or could not be made, as the machine acts on it:
 * - unauthorized: 4401 or 401 on upgrade: get a refreshed token, reconnect;
 * - revoked: 4403 (or a token source saying so): stop for good;
 * - refused: the upgrade was refused in a way retrying cannot fix (4xx other than 401, 408, 429);
 * - unauthenticated: the token source has no session any more;
 * - dropped: anything else on the network or the server (1006, 1011-1013, 5xx, timeouts): back off, reconnect;
 * - tokenUnavailable: the token source failed for a reason that may pass: back off, retry.
 */
export type SocketFailureKind = 'unauthorized' | 'revoked' | 'refused' | 'unauthenticated' | 'dropped' | 'tokenUnavailable'

/** Why a connection ended or could not be made. */
export interface SocketFailure {
  kind: SocketFailureKind
  message: string
  /** Clock time of the failure, when known. */
  at: number | null
  /** WebSocket close code, when the connection was closed with one. */
  closeCode?: number
  /** HTTP status of a refused upgrade. */
  status?: number
  /** Stable error code of the token source's error, when it had one. */
  code?: string
  /**
   * Set (true) on an `unauthorized` failure when the refusal was due to the
   * token's expiry (the server's words or the token's own `exp`, as the
   * runtime read them): the token is then asked for with 'expired', not 'unauthorized'.
   */
  expired?: true
}

/** Why a LiveSocket closed for good: `closed` when asked to, or a failure no reconnect can fix. */
export type SocketOutcomeReason = 'closed' | 'revoked' | 'refused' | 'unauthenticated'

/** Why the socket reached `closed`: asked to, or a failure no reconnect can fix. */
export interface SocketOutcome {
  reason: SocketOutcomeReason
  at: number | null
  failure: SocketFailure | null
}

export interface LiveSocketContext {
  settings: LiveSocketSettings
  /** State of the jitter sequence; advanced each time a backoff is drawn. */
  jitterSeed: number
  /** The latest clock reading an effect or event reported. */
  observedAt: number | null
  /** Number of the current (or last) connection; socket events name it so late ones of an old socket are ignored. */
  connectionId: number
  /** Consecutive failed connections, for the backoff exponent. */
  attempts: number
  /** Consecutive 4401/401 refusals: only the first reconnects at once, the rest back off. */
  unauthorizedStreak: number
  /** Reason of the next token request: 'expired' or 'unauthorized' after a refusal, as the failure says. */
  tokenReason: TokenReason
  /** The token rotated after the current connection or re-authentication took its token. */
  tokenStale: boolean
  openedAt: number | null
  connectDeadline: number | null
  reauthDeadline: number | null
  /** Expiry (epoch ms) the server named in its last `auth_ok`. */
  authExpiresAt: number | null
  nextPingAt: number | null
  /** Pings sent since the last pong. */
  awaitingPongs: number
  retryAt: number | null
  lastFailure: SocketFailure | null
  outcome: SocketOutcome | null
}

export type LiveSocketEvent =
  /** Start connecting (sent once by the runtime after it subscribed). */
  | { type: 'CONNECT'; at: number }
  /** The token source published a new token; re-authenticate the open connection in band. */
  | { type: 'TOKEN_ROTATED' }
  /** The open connection `connectionId` closed; `expired`: a 4401 that the runtime read as due to the token's expiry. */
  | { type: 'SOCKET_CLOSED'; connectionId: number; code: number; reason?: string; expired?: boolean; at: number }
  /** A pong (or any sign of life the runtime counts as one) on connection `connectionId`. */
  | { type: 'PONG'; connectionId: number; at: number }
  /** Close for good, from any state. */
  | { type: 'CLOSE'; at?: number }

export interface GetTokenInput {
  reason: TokenReason
}
export interface GetTokenOutput {
  token: string
  at: number
}

export interface ConnectInput {
  token: string
  connectionId: number
}
/** Resolves when the connection is open. Rejects with `{ message, closeCode?, status?, expired?, at? }` (`expired`: see SocketFailure). */
export interface ConnectOutput {
  at: number
}

export interface ReauthenticateInput {
  token: string
  connectionId: number
}
/** Resolves on `auth_ok`; `exp` is its unix-seconds expiry. Rejects with `{ message, closeCode?, expired?, at? }`. */
export interface ReauthenticateOutput {
  at: number
  exp: number | null
}

export interface SleepUntilInput {
  until: number
}
export interface SleepUntilOutput {
  at: number
}

/** What the machine tells the runtime to do; each is a named action of the same name, overridable with `.provide()`. */
export type LiveSocketEmitted =
  /** Writing is allowed on `connectionId`: send what waits in the queue, in order. */
  | { type: 'flushQueue'; connectionId: number }
  | { type: 'sendPing'; connectionId: number }
  /** Kill `connectionId` at once (dead or misbehaving); no close handshake. */
  | { type: 'terminate'; connectionId: number; failure: SocketFailure }
  /** Close `connectionId` normally (1000): the caller closed the socket. */
  | { type: 'closeConnection'; connectionId: number }
  /** Nothing will be sent any more: reject every waiting send with the outcome. */
  | { type: 'rejectQueue'; outcome: SocketOutcome }
  | { type: 'revoked'; at: number | null; failure: SocketFailure }

/** Public state of a LiveSocket, for `state$`. */
export type LiveSocketStatus = 'idle' | 'connecting' | 'open' | 'reauthenticating' | 'backingOff' | 'closed'

export type LiveSocketTag = 'writable' | 'open' | 'reauthenticating' | 'connecting' | 'backingOff'
