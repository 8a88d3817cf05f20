/**
 * Every JSON line the CLI prints with `--json`: its `type`, and for the
 * commands that print it, its other fields. Output.event takes only these
 * types, and the README's list of them is generated from here
 * (test/docs/readme-blocks.ts), so neither can leave one out.
 */
export const CLI_EVENTS = {
  approvalStarted: { 'register, login, watch, demo': ['approvalUrl', 'userCode', 'agentId', 'expiresAt'] },
  pollAttempt: { 'register, login, watch, demo': ['attempt', 'at', 'expiresAt'] },
  pending: { 'register, login (--no-wait)': ['agentId', 'expiresAt', 'store'] },
  authenticated: { 'register, login': ['agentId', 'server', 'store'], demo: ['agentId', 'name', 'username', 'owner', 'scope', 'resumed'] },
  status: { status: ['state', 'agentId', 'server', 'scope', 'accessExpiresAt', 'refreshExpiresAt', 'refreshAt', 'approval', 'failure', 'store', 'heldByAnotherProcess'] },
  token: { token: ['accessToken', 'tokenType', 'expiresAt', 'agentId'] },
  revoked: { revoke: ['agentId', 'server', 'confirmed', 'wasPending', 'store'], 'watch, demo': ['confirmed'] },
  following: { watch: ['agentId', 'server', 'accessExpiresAt', 'refreshAt', 'store'] },
  refreshed: { 'watch, demo': ['count', 'at', 'accessExpiresAt', 'refreshAt'] },
  refreshFailed: { 'watch, demo': ['code', 'message', 'retryAt'] },
  faultRetry: { 'watch, demo': ['effect', 'code', 'message', 'retryAt'] },
  sessionEnded: { 'watch, demo': ['code', 'message'] },
  restoreFailed: { 'watch, demo': ['code', 'message'] },
  storeFailed: { 'watch, demo': ['code', 'message'] },
  listening: { serve: ['url', 'address', 'dataFile'] },
  server: { demo: ['url', 'console', 'dataFile', 'accessTtl', 'movedFrom'] },
  owner: { demo: ['email', 'password', 'created', 'file'] },
  sessionRejected: { demo: ['message'] },
  liveSocketOpen: { demo: ['connectionId', 'at'] },
  liveSocketReauthenticated: { demo: ['connectionId', 'exp', 'at'] },
  liveSocketDisconnected: { demo: ['message', 'retryAt'] },
  liveSocketRevoked: { demo: ['message'] },
  stopped: { 'serve, watch, demo': ['signal'] },
  error: { 'every command': ['code', 'message', 'exitCode'] },
} as const satisfies Record<string, Record<string, readonly string[]>>

export type CliEventType = keyof typeof CLI_EVENTS

type ShapeFields<Shape> = Shape extends readonly (infer Field extends string)[] ? Field : never

/** The fields an event of this type may carry, in any of its shapes. */
export type CliEventFields<T extends CliEventType> = { [Field in ShapeFields<(typeof CLI_EVENTS)[T][keyof (typeof CLI_EVENTS)[T]]>]?: unknown }
