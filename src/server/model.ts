/**
 * The reference server's persisted document. Times are epoch milliseconds.
 * Secrets are stored as hashes, except the pairs an answer may have lost (a
 * rotated refresh token's successor, a device code's first pair), which are
 * kept only through the redelivery window so that a repeat gets the same
 * answer.
 */

export const SERVER_DATA_VERSION = 1

export interface ServerData {
  schemaVersion: typeof SERVER_DATA_VERSION
  /** HMAC key that derives device codes from approval ids (base64url). */
  deviceCodeSecret: string
  signingKeys: SigningKeyRecord[]
  owners: OwnerRecord[]
  agents: AgentRecord[]
  approvals: ApprovalRecord[]
  families: FamilyRecord[]
  refreshTokens: RefreshTokenRecord[]
  revokedAccessTokens: RevokedAccessToken[]
  ownerSessions: OwnerSessionRecord[]
}

export interface SigningKeyRecord {
  kid: string
  alg: 'ES256'
  privateJwk: Record<string, unknown>
  publicJwk: Record<string, unknown>
  createdAt: number
}

export interface OwnerRecord {
  id: string
  email: string
  /** `scrypt$N$r$p$salt$hash`, salt and hash base64url. */
  passwordHash: string
  createdAt: number
}

/**
 * `pending`: registered, awaiting the first approval (no owner yet);
 * `active`: has an owner; `rejected`: its registration was denied or expired.
 */
export type AgentStatus = 'pending' | 'active' | 'rejected'

export interface AgentRecord {
  id: string
  name: string
  username: string
  ownerId: string | null
  status: AgentStatus
  createdAt: number
  lastSeenAt: number | null
}

export type ApprovalIntent = 'register' | 'login'
export type ApprovalStatus = 'pending' | 'approved' | 'denied'

export interface ApprovalRecord {
  id: string
  userCode: string
  clientId: string
  scope: string
  intent: ApprovalIntent
  agentId: string
  status: ApprovalStatus
  createdAt: number
  expiresAt: number
  decidedAt: number | null
  decidedBy: string | null
  /** Seconds; grows by 5 on every slow_down. */
  interval: number
  lastPolledAt: number | null
  idempotencyKey: string | null
  /** Hash of the parameters the idempotency key was first used with. */
  requestHash: string | null
  /** When the device code was first exchanged for tokens. */
  exchangedAt: number | null
  /** The family the exchange started. */
  familyId: string | null
  /**
   * The pair the exchange answered with, given again to a repeat while it is
   * unused, within the redelivery window; wiped after it. Absent in files
   * written before it was kept.
   */
  issued?: IssuedPair | null
}

export interface FamilyRecord {
  id: string
  agentId: string
  ownerId: string
  clientId: string
  scope: string
  approvalId: string
  createdAt: number
  revokedAt: number | null
}

/** What the token endpoint answered, kept to answer a repeat the same way. */
export interface IssuedPair {
  accessToken: string
  accessExpiresAt: number
  refreshToken: string
  refreshExpiresAt: number
  scope: string
}

export interface RefreshTokenRecord {
  /** SHA-256 of the token, base64url. */
  hash: string
  familyId: string
  issuedAt: number
  expiresAt: number
  rotatedAt: number | null
  /** The pair this token was rotated into; wiped once neither the grace period nor the redelivery window can use it. */
  successor: IssuedPair | null
}

/** A signed-in owner (console or API). The cookie holds the id; only its hash is kept. */
export interface OwnerSessionRecord {
  /** SHA-256 of the session id, base64url. */
  hash: string
  ownerId: string
  csrfToken: string
  createdAt: number
  expiresAt: number
}

export interface RevokedAccessToken {
  jti: string
  expiresAt: number
}

export function emptyServerData(deviceCodeSecret: string): ServerData {
  return {
    schemaVersion: SERVER_DATA_VERSION,
    deviceCodeSecret,
    signingKeys: [],
    owners: [],
    agents: [],
    approvals: [],
    families: [],
    refreshTokens: [],
    revokedAccessTokens: [],
    ownerSessions: [],
  }
}

const collections = ['signingKeys', 'owners', 'agents', 'approvals', 'families', 'refreshTokens', 'revokedAccessTokens', 'ownerSessions'] as const

/** Shape check on read: a file that fails it is treated as corrupt, never used or overwritten. */
export function isServerData(value: unknown): value is ServerData {
  if (value === null || typeof value !== 'object') return false
  const data = value as Record<string, unknown>
  if (data.schemaVersion !== SERVER_DATA_VERSION) return false
  if (typeof data.deviceCodeSecret !== 'string' || data.deviceCodeSecret.length < 32) return false
  return collections.every((name) => Array.isArray(data[name]) && (data[name] as unknown[]).every((item) => item !== null && typeof item === 'object'))
}
