/**
 * Token families: issuing access/refresh pairs, rotating refresh tokens (a
 * repeat gets the same successor within the grace period, or while that
 * successor is unused within the redelivery window), detecting reuse,
 * revoking, and checking access tokens.
 */
import { SignJWT, createLocalJWKSet, errors, jwtVerify, type JWTPayload } from 'jose'
import type { ServerDatabase } from './database.js'
import type { SigningKey } from './keys.js'
import { jwks } from './keys.js'
import type { AgentRecord, FamilyRecord, IssuedPair } from './model.js'
import { OAuthFailure, invalidGrant } from './oauth/failure.js'
import type { ResolvedServerOptions } from './options.js'
import { randomId, sha256 } from './secrets.js'

export interface AccessClaims extends JWTPayload {
  sub: string
  scope: string
  owner: string
  sid: string
  jti: string
  exp: number
}

/** Why an access token was refused; `scope` only for insufficient_scope. */
export type AccessCheck =
  | { ok: true; claims: AccessClaims; agent: AgentRecord; family: FamilyRecord }
  | { ok: false; reason: string }

export interface Refreshed {
  pair: IssuedPair
  agentId: string
}

export interface RefreshRequest {
  refreshToken: string
  clientId: string
  scope: string | undefined
}

export class TokenService {
  readonly #db: ServerDatabase
  readonly #key: SigningKey
  readonly #options: ResolvedServerOptions
  readonly #issuer: () => string
  /** Refreshes under way, by token hash: a concurrent repeat shares the first one's answer. */
  readonly #refreshing = new Map<string, Promise<Refreshed>>()
  /** Callbacks told when a family is revoked (live sockets close with 4403). */
  readonly #onRevoke = new Set<(familyId: string) => void>()
  readonly #keySet: ReturnType<typeof createLocalJWKSet>

  constructor(db: ServerDatabase, key: SigningKey, options: ResolvedServerOptions, issuer: () => string) {
    this.#db = db
    this.#key = key
    this.#options = options
    this.#issuer = issuer
    this.#keySet = createLocalJWKSet(jwks(db))
  }

  onFamilyRevoked(listener: (familyId: string) => void): () => void {
    this.#onRevoke.add(listener)
    return () => this.#onRevoke.delete(listener)
  }

  /** Starts a new family for an approved request and issues its first pair. The caller saves. */
  async startFamily(input: { agent: AgentRecord; approvalId: string; clientId: string; scope: string }, now: number): Promise<{ family: FamilyRecord; pair: IssuedPair }> {
    if (input.agent.ownerId === null) throw new Error('an agent without owner cannot hold tokens')
    const family: FamilyRecord = {
      id: randomId('fam'),
      agentId: input.agent.id,
      ownerId: input.agent.ownerId,
      clientId: input.clientId,
      scope: input.scope,
      approvalId: input.approvalId,
      createdAt: now,
      revokedAt: null,
    }
    this.#db.addFamily(family)
    const pair = await this.#issuePair(family, input.scope, now)
    input.agent.lastSeenAt = now
    return { family, pair }
  }

  async #issuePair(family: FamilyRecord, scope: string, now: number): Promise<IssuedPair> {
    const access = await this.#signAccess(family, scope, now)
    const refreshToken = randomId('rt', 32)
    const refreshExpiresAt = now + this.#options.refreshTtl * 1000
    this.#db.addRefreshToken({ hash: sha256(refreshToken), familyId: family.id, issuedAt: now, expiresAt: refreshExpiresAt, rotatedAt: null, successor: null })
    return { ...access, refreshToken, refreshExpiresAt, scope }
  }

  async #signAccess(family: FamilyRecord, scope: string, now: number): Promise<{ accessToken: string; accessExpiresAt: number }> {
    const issuedAt = Math.floor(now / 1000)
    const exp = Math.ceil((now + this.#options.accessTtl * 1000) / 1000)
    const accessToken = await new SignJWT({ scope, owner: family.ownerId, sid: family.id })
      .setProtectedHeader({ alg: 'ES256', kid: this.#key.kid, typ: 'at+jwt' })
      .setIssuer(this.#issuer())
      .setSubject(family.agentId)
      .setAudience(this.#options.audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(exp)
      .setJti(randomId('at', 12))
      .sign(this.#key.privateKey)
    return { accessToken, accessExpiresAt: exp * 1000 }
  }

  /**
   * A kept pair given again: the same refresh token, and the same access
   * token while at least half its lifetime is left; past that, a fresh access
   * token of the same login in its place (kept for the next repeat), so the
   * client is not handed a token that is dead or about to be. Saves when it
   * signed a new access token.
   */
  async redeliverable(pair: IssuedPair, familyId: string, now: number): Promise<IssuedPair> {
    if (pair.accessExpiresAt - now >= (this.#options.accessTtl * 1000) / 2) return pair
    const family = this.#db.familiesById.get(familyId)
    if (!family) return pair
    Object.assign(pair, await this.#signAccess(family, pair.scope, now))
    await this.#db.save()
    return pair
  }

  /**
   * The refresh grant with rotation. A rotated token presented again answers
   * with the same successor pair while `#redelivers` says so; otherwise the
   * presentation is reuse and the whole family is revoked.
   */
  refresh(request: RefreshRequest, now: number): Promise<Refreshed> {
    const hash = sha256(request.refreshToken)
    const running = this.#refreshing.get(hash)
    if (running) return running
    const work = this.#refresh(hash, request, now).finally(() => this.#refreshing.delete(hash))
    this.#refreshing.set(hash, work)
    return work
  }

  async #refresh(hash: string, request: RefreshRequest, now: number): Promise<Refreshed> {
    const record = this.#db.refreshTokensByHash.get(hash)
    const family = record && this.#db.familiesById.get(record.familyId)
    if (!record || !family || family.revokedAt !== null || record.expiresAt <= now) {
      throw invalidGrant('the refresh token is unknown, expired or revoked; a new login is needed')
    }
    if (family.clientId !== request.clientId) throw invalidGrant('the refresh token was issued to another client')
    const agent = this.#db.agentsById.get(family.agentId)
    if (!agent || agent.status !== 'active') throw invalidGrant('the agent of this refresh token is no longer active')
    const scope = request.scope ?? family.scope
    if (!isSubset(scope, family.scope)) {
      throw new OAuthFailure(400, 'invalid_scope', 'the requested scope is not within the scope granted at login')
    }
    if (record.rotatedAt !== null) {
      if (record.successor && this.#redelivers(record.successor, now - record.rotatedAt)) {
        return { pair: await this.redeliverable(record.successor, family.id, now), agentId: agent.id }
      }
      await this.revokeFamily(family.id, now)
      throw invalidGrant('the refresh token was already used; every token of this login has been revoked')
    }
    record.rotatedAt = now
    let pair: IssuedPair
    try {
      pair = await this.#issuePair(family, scope, now)
    } catch (error) {
      record.rotatedAt = null
      throw error
    }
    record.successor = pair
    // The device code's first pair, kept in clear for a repeat of the exchange, is no use once it was used.
    const approval = this.#db.approvalsById.get(family.approvalId)
    if (approval?.issued?.refreshToken === request.refreshToken) approval.issued = null
    agent.lastSeenAt = now
    await this.#db.save()
    return { pair, agentId: agent.id }
  }

  /**
   * Whether a pair answered `ageMs` ago is given again to a repeat of its
   * request: within the grace period always (two processes refreshing at
   * once), and within the redelivery window while its refresh token was never
   * used (the first answer may have been lost on its way).
   */
  #redelivers(pair: IssuedPair, ageMs: number): boolean {
    if (ageMs <= this.#options.refreshGrace * 1000) return true
    return ageMs <= this.#options.redeliveryWindow * 1000 && this.isUnused(pair)
  }

  /** Whether a pair's refresh token is live and was never presented. */
  isUnused(pair: IssuedPair): boolean {
    return this.#db.refreshTokensByHash.get(sha256(pair.refreshToken))?.rotatedAt === null
  }

  /** Revokes every refresh and access token of a family. Saves. */
  async revokeFamily(familyId: string, now: number): Promise<void> {
    const family = this.#db.familiesById.get(familyId)
    if (!family || family.revokedAt !== null) return
    family.revokedAt = now
    await this.#db.save()
    for (const listener of this.#onRevoke) {
      try {
        listener(familyId)
      } catch {
        // a listener's failure must not stop the revocation reaching the others
      }
    }
  }

  /** Revokes every family of an agent. Returns how many were live. */
  async revokeAgent(agentId: string, now: number): Promise<number> {
    const live = this.#db.data.families.filter((family) => family.agentId === agentId && family.revokedAt === null)
    for (const family of live) await this.revokeFamily(family.id, now)
    return live.length
  }

  /** RFC 7009: a refresh token revokes its family; an access token revokes itself. Unknown tokens are ignored. */
  async revokeToken(token: string, hint: string | undefined, clientId: string, now: number): Promise<void> {
    const tryRefresh = async () => {
      const record = this.#db.refreshTokensByHash.get(sha256(token))
      if (!record) return false
      const family = this.#db.familiesById.get(record.familyId)
      if (family && family.clientId === clientId) await this.revokeFamily(family.id, now)
      return true
    }
    const tryAccess = async () => {
      const claims = await this.#verifySignature(token, now, { ignoreExpiry: true })
      if (typeof claims === 'string') return false
      const family = this.#db.familiesById.get(claims.sid)
      if (family && family.clientId !== clientId) return true
      this.#db.addRevokedAccessToken(claims.jti, claims.exp * 1000)
      await this.#db.save()
      return true
    }
    if (hint === 'access_token') {
      if (!(await tryAccess())) await tryRefresh()
    } else if (!(await tryRefresh())) {
      await tryAccess()
    }
  }

  /**
   * The claims of a token this server signed for its audience, or why not:
   * 'expired' for one that is ours in every other way (jose checks the
   * signature, issuer, audience and required claims before the expiry).
   */
  async #verifySignature(token: string, now: number, { ignoreExpiry = false } = {}): Promise<AccessClaims | 'expired' | 'invalid'> {
    try {
      const { payload } = await jwtVerify(token, this.#keySet, {
        issuer: this.#issuer(),
        audience: this.#options.audience,
        algorithms: ['ES256'],
        currentDate: new Date(ignoreExpiry ? 0 : now),
        requiredClaims: ['sub', 'exp', 'jti', 'sid'],
      })
      if (ignoreExpiry && typeof payload.exp !== 'number') return 'invalid'
      return payload as AccessClaims
    } catch (error) {
      return error instanceof errors.JWTExpired ? 'expired' : 'invalid'
    }
  }

  /** Checks an access token for a resource request: signature, expiry, and that nothing revoked it. */
  async checkAccess(token: string, now: number): Promise<AccessCheck> {
    const claims = await this.#verifySignature(token, now)
    // The words say which: clients read "expired" to tell a token to replace from one to refresh (src/token-expiry.ts).
    if (claims === 'expired') return { ok: false, reason: 'the access token expired' }
    if (claims === 'invalid') return { ok: false, reason: 'the access token is invalid: not one this server signed for its audience, or malformed' }
    if (this.#db.revokedJtis.has(claims.jti)) return { ok: false, reason: 'the access token was revoked' }
    const family = this.#db.familiesById.get(claims.sid)
    if (!family || family.revokedAt !== null) return { ok: false, reason: 'the access token was revoked' }
    const agent = this.#db.agentsById.get(claims.sub)
    if (!agent || agent.status !== 'active') return { ok: false, reason: 'the agent is no longer active' }
    return { ok: true, claims, agent, family }
  }

  /** Whether the family is live; sockets re-check this on every message. */
  isFamilyLive(familyId: string): boolean {
    const family = this.#db.familiesById.get(familyId)
    return family !== undefined && family.revokedAt === null
  }

  /** The JSON body of a token answer. */
  tokenResponse(pair: IssuedPair, agentId: string, now: number): Record<string, unknown> {
    return {
      access_token: pair.accessToken,
      token_type: 'Bearer',
      expires_in: Math.max(0, Math.floor((pair.accessExpiresAt - now) / 1000)),
      refresh_token: pair.refreshToken,
      refresh_token_expires_in: Math.max(0, Math.floor((pair.refreshExpiresAt - now) / 1000)),
      scope: pair.scope,
      agent_id: agentId,
    }
  }
}

/** Whether every scope in `requested` is in `granted` (space separated). */
export function isSubset(requested: string, granted: string): boolean {
  const grantedSet = new Set(granted.split(' ').filter(Boolean))
  return requested.split(' ').filter(Boolean).every((scope) => grantedSet.has(scope))
}
