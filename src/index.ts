/**
 * `countersign`: the agent runtime.
 *
 * @module countersign
 */
export { AuthManager, ApprovalHandle } from './auth/index.js'
export type { AccessToken, AuthLifecycleEvent, AuthLogger, AuthManagerOptions, AuthState, LoginParams, PollAttempt, RegisterParams, Session, WaitForApprovalOptions } from './auth/index.js'
export { MemoryStore, FileStore, TokenStoreAdapter, isSessionStore, isTokenStore } from '../stores/index.js'
export type { FileStoreOptions, Lease, MachineEnvelope, MemoryStoreOptions, SessionChange, SessionChangeListener, SessionData, SessionInput, SessionRecord, SessionStore, TokenStore, WriteOptions } from '../stores/index.js'
export { AbortError, ApprovalDeniedError, ApprovalExpiredError, ApprovalTimeoutError, CorruptFileError, CountersignError, ErrorCodes, InsufficientScopeError, NetworkError, TokenRefreshError } from './errors.js'
export type { CountersignErrorOptions, ErrorCode } from './errors.js'
export type { DeviceAuthorization, TokenSet, TokenTypeHint } from './protocol/index.js'
export type { Clock } from './clock.js'
export { createHttpClient } from './http/client.js'
export type { HttpClient, HttpClientBaseOptions, HttpClientOptions, HttpRequestInit } from './http/client.js'
export { LiveSocket } from './live/socket.js'
export type { LiveSocketEvent, LiveSocketOptions, LiveSocketStatus, LiveSocketTarget, LiveSocketUrl, OutgoingData, SocketFailure, SocketOutcome } from './live/socket.js'
export type { LiveSocketSettings } from '../machines/socket.js'
export { CloseCodes, decodeServerMessage, encodeAuth, encodeEcho } from './live/messages.js'
export type { EchoId, ServerMessage } from './live/messages.js'
export { authenticatorFor, cachingAuthenticator, getAuthHeaderOf, getAuthTokenOf, tokenSourceOf, tokenSourceOfAuthenticator } from './token-source.js'
export type { AuthSource, AuthToken, Authenticator, CachingAuthenticator, CachingAuthenticatorOptions, CustomAuthenticator, TokenChanges, TokenOrigin, TokenReason, TokenSource } from './token-source.js'
export type { AuthEmitted, AuthFailure, EffectName } from '../machines/auth.js'
export type { SocketFailureKind, SocketOutcomeReason } from '../machines/socket.js'
export type { RawFrame } from './live/messages.js'
