/**
 * `countersign`: the agent runtime.
 */
export { AuthManager, ApprovalHandle } from './auth/index.js'
export type { AccessToken, AuthLifecycleEvent, AuthLogger, AuthManagerOptions, AuthState, LoginParams, PollAttempt, RegisterParams, Session, WaitForApprovalOptions } from './auth/index.js'
export { MemoryStore, FileStore, TokenStoreAdapter, isSessionStore, isTokenStore } from '../stores/index.js'
export type { FileStoreOptions, Lease, MachineEnvelope, MemoryStoreOptions, SessionChange, SessionChangeListener, SessionData, SessionInput, SessionRecord, SessionStore, TokenStore, WriteOptions } from '../stores/index.js'
export { AbortError, ApprovalDeniedError, ApprovalExpiredError, ApprovalTimeoutError, CorruptFileError, CountersignError, ErrorCodes, InsufficientScopeError, NetworkError, TokenRefreshError } from './errors.js'
export type { CountersignErrorOptions, ErrorCode } from './errors.js'
export type { DeviceAuthorization, TokenSet, TokenTypeHint } from './protocol/index.js'
export type { Clock } from './clock.js'
