/**
 * The server's one lowdb document, with in-memory indexes beside it. Every
 * mutation goes through a method here so the indexes stay true; callers then
 * `save()` before they answer, so an answer never names state that a crash
 * would lose.
 */
import { randomBytes } from 'node:crypto'
import { Low, Memory } from 'lowdb'
import { AtomicJsonFile, removeOrphanedTemps } from '../../stores/atomic-file.js'
import { acquireFileLock, type FileLock } from '../../stores/lock.js'
import {
  emptyServerData,
  isServerData,
  type AgentRecord,
  type ApprovalRecord,
  type FamilyRecord,
  type OwnerRecord,
  type OwnerSessionRecord,
  type RefreshTokenRecord,
  type ServerData,
} from './model.js'

export class ServerDatabase {
  readonly file: string | undefined
  readonly #low: Low<ServerData>
  #lock: FileLock | undefined
  readonly ownersById = new Map<string, OwnerRecord>()
  readonly ownersByEmail = new Map<string, OwnerRecord>()
  readonly agentsById = new Map<string, AgentRecord>()
  readonly approvalsById = new Map<string, ApprovalRecord>()
  readonly approvalsByUserCode = new Map<string, ApprovalRecord>()
  readonly familiesById = new Map<string, FamilyRecord>()
  readonly refreshTokensByHash = new Map<string, RefreshTokenRecord>()
  readonly revokedJtis = new Map<string, number>()
  readonly ownerSessionsByHash = new Map<string, OwnerSessionRecord>()

  private constructor(low: Low<ServerData>, file: string | undefined, lock: FileLock | undefined) {
    this.#low = low
    this.file = file
    this.#lock = lock
  }

  /**
   * Opens (or creates) the document. One server per file: another live
   * process holding it gives `file_locked`. Holding the lock, it removes the
   * temp files a server killed between writing and renaming left beside the
   * file. A corrupt file throws CorruptFileError and is left untouched.
   */
  static async open(file: string | undefined): Promise<ServerDatabase> {
    if (file === undefined) {
      const low = new Low<ServerData>(new Memory<ServerData>(), emptyServerData(randomBytes(32).toString('base64url')))
      const database = new ServerDatabase(low, undefined, undefined)
      return database
    }
    const lock = await acquireFileLock(file)
    try {
      // A killed server's temp file holds signing keys and token hashes; with the lock held, no write of ours is using one.
      await removeOrphanedTemps(file)
      const low = new Low<ServerData>(new AtomicJsonFile<ServerData>(file, { validate: isServerData }), emptyServerData(randomBytes(32).toString('base64url')))
      await low.read()
      const database = new ServerDatabase(low, file, lock)
      database.#index()
      return database
    } catch (error) {
      await lock.release()
      throw error
    }
  }

  /** Writes what is pending and lets another process open the file. */
  async close(): Promise<void> {
    try {
      await this.save()
    } finally {
      const lock = this.#lock
      this.#lock = undefined
      await lock?.release()
    }
  }

  get data(): ServerData {
    return this.#low.data
  }

  save(): Promise<void> {
    return this.#low.write()
  }

  #index(): void {
    const data = this.data
    for (const owner of data.owners) this.#indexOwner(owner)
    for (const agent of data.agents) this.agentsById.set(agent.id, agent)
    for (const approval of data.approvals) this.#indexApproval(approval)
    for (const family of data.families) this.familiesById.set(family.id, family)
    for (const token of data.refreshTokens) this.refreshTokensByHash.set(token.hash, token)
    for (const revoked of data.revokedAccessTokens) this.revokedJtis.set(revoked.jti, revoked.expiresAt)
    for (const session of data.ownerSessions) this.ownerSessionsByHash.set(session.hash, session)
  }

  #indexOwner(owner: OwnerRecord): void {
    this.ownersById.set(owner.id, owner)
    this.ownersByEmail.set(owner.email.toLowerCase(), owner)
  }

  #indexApproval(approval: ApprovalRecord): void {
    this.approvalsById.set(approval.id, approval)
    this.approvalsByUserCode.set(approval.userCode, approval)
  }

  addOwner(owner: OwnerRecord): void {
    this.data.owners.push(owner)
    this.#indexOwner(owner)
  }

  addAgent(agent: AgentRecord): void {
    this.data.agents.push(agent)
    this.agentsById.set(agent.id, agent)
  }

  addApproval(approval: ApprovalRecord): void {
    this.data.approvals.push(approval)
    this.#indexApproval(approval)
  }

  addFamily(family: FamilyRecord): void {
    this.data.families.push(family)
    this.familiesById.set(family.id, family)
  }

  addRefreshToken(token: RefreshTokenRecord): void {
    this.data.refreshTokens.push(token)
    this.refreshTokensByHash.set(token.hash, token)
  }

  addRevokedAccessToken(jti: string, expiresAt: number): void {
    if (this.revokedJtis.has(jti)) return
    this.data.revokedAccessTokens.push({ jti, expiresAt })
    this.revokedJtis.set(jti, expiresAt)
  }

  addOwnerSession(session: OwnerSessionRecord): void {
    this.data.ownerSessions.push(session)
    this.ownerSessionsByHash.set(session.hash, session)
  }

  removeOwnerSession(hash: string): void {
    if (!this.ownerSessionsByHash.delete(hash)) return
    this.data.ownerSessions = this.data.ownerSessions.filter((session) => session.hash !== hash)
  }

  /** The agent holding a username, among agents that are not rejected. */
  agentByUsername(username: string): AgentRecord | undefined {
    for (const agent of this.data.agents) {
      if (agent.username === username && agent.status !== 'rejected') return agent
    }
    return undefined
  }

  /**
   * Drops what can no longer matter: refresh tokens past their expiry, revoked
   * access token ids past theirs, the pairs kept for a repeat (a rotated
   * token's successor, a device code's first pair) once `redeliverMs` after
   * their answer, decided or expired approvals a day after they ended, and
   * expired owner sessions. Returns whether anything changed.
   */
  sweep(now: number, redeliverMs: number, keepApprovalsMs = 24 * 3600_000): boolean {
    let changed = false
    const data = this.data
    const liveTokens = data.refreshTokens.filter((token) => {
      if (token.expiresAt > now) return true
      this.refreshTokensByHash.delete(token.hash)
      return false
    })
    if (liveTokens.length !== data.refreshTokens.length) {
      data.refreshTokens = liveTokens
      changed = true
    }
    for (const token of data.refreshTokens) {
      if (token.successor && token.rotatedAt !== null && now - token.rotatedAt > redeliverMs) {
        token.successor = null
        changed = true
      }
    }
    for (const approval of data.approvals) {
      if (approval.issued && approval.exchangedAt !== null && now - approval.exchangedAt > redeliverMs) {
        approval.issued = null
        changed = true
      }
    }
    const liveRevoked = data.revokedAccessTokens.filter((revoked) => {
      if (revoked.expiresAt > now) return true
      this.revokedJtis.delete(revoked.jti)
      return false
    })
    if (liveRevoked.length !== data.revokedAccessTokens.length) {
      data.revokedAccessTokens = liveRevoked
      changed = true
    }
    const liveSessions = data.ownerSessions.filter((session) => {
      if (session.expiresAt > now) return true
      this.ownerSessionsByHash.delete(session.hash)
      return false
    })
    if (liveSessions.length !== data.ownerSessions.length) {
      data.ownerSessions = liveSessions
      changed = true
    }
    const liveApprovals = data.approvals.filter((approval) => {
      const endedAt = approval.status === 'pending' ? approval.expiresAt : Math.max(approval.expiresAt, approval.decidedAt ?? 0)
      if (now - endedAt < keepApprovalsMs) return true
      // A registration nobody approved must not keep holding its username once its approval is gone.
      const agent = approval.intent === 'register' ? this.agentsById.get(approval.agentId) : undefined
      if (agent?.status === 'pending') agent.status = 'rejected'
      this.approvalsById.delete(approval.id)
      if (this.approvalsByUserCode.get(approval.userCode) === approval) this.approvalsByUserCode.delete(approval.userCode)
      return false
    })
    if (liveApprovals.length !== data.approvals.length) {
      data.approvals = liveApprovals
      changed = true
    }
    return changed
  }
}
