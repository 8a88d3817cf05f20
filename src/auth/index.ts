/**
 * The agent runtime: AuthManager, ApprovalHandle and their types.
 */
export { AuthManager, type LoginParams, type RegisterParams } from './manager.js'
export { ApprovalHandle, type WaitForApprovalOptions } from './approval-handle.js'
export type { AuthLogger, AuthManagerOptions } from './options.js'
export type { AuthLifecycleEvent } from './streams.js'
export type { AuthState, Session } from './session.js'
export type { AccessToken } from './tokens.js'
export type { PollAttempt } from './flow.js'
