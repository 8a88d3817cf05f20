/**
 * Approval requests (RFC 8628 device authorizations) from start to exchange:
 * registering or logging in an agent, the human's decision, the polling
 * answers with slow_down and long-poll, and the redelivery window.
 */
import type { ServerDatabase } from './database.js'
import type { AgentRecord, ApprovalIntent, ApprovalRecord, IssuedPair } from './model.js'
import { OAuthFailure, invalidGrant, invalidRequest } from './oauth/failure.js'
import type { ResolvedServerOptions } from './options.js'
import { approvalIdOf, deviceCodeFor, newUserCode, randomId, sha256 } from './secrets.js'
import type { TokenService } from './tokens.js'

export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired'

export interface StartRequest {
  clientId: string
  scope: string
  agentName?: string
  agentUsername?: string
  agentId?: string
  username?: string
  idempotencyKey?: string
}

/** Tokens issued for an approved device code, and when: the response's lifetimes count from then, not from when it is sent. */
export interface Exchanged {
  pair: IssuedPair
  agentId: string
  issuedAt: number
}

export interface Started {
  approval: ApprovalRecord
  deviceCode: string
}

/** How close to the interval a plain poll may come before it is answered slow_down. */
const POLL_TOLERANCE_MS = 250

export class ApprovalService {
  readonly #db: ServerDatabase
  readonly #options: ResolvedServerOptions
  readonly #tokens: TokenService
  /** Long-polls waiting for a decision, by approval id. */
  readonly #waiters = new Map<string, Set<() => void>>()
  /** The latest token issue of each approval: issues of one approval run one after another. */
  readonly #issuing = new Map<string, Promise<unknown>>()

  constructor(db: ServerDatabase, options: ResolvedServerOptions, tokens: TokenService) {
    this.#db = db
    this.#options = options
    this.#tokens = tokens
  }

  stateOf(approval: ApprovalRecord, now: number): ApprovalState {
    if (approval.status !== 'pending') return approval.status
    return now >= approval.expiresAt ? 'expired' : 'pending'
  }

  deviceCodeOf(approval: ApprovalRecord): string {
    return deviceCodeFor(approval.id, this.#db.data.deviceCodeSecret)
  }

  byUserCode(userCode: string): ApprovalRecord | undefined {
    return this.#db.approvalsByUserCode.get(userCode)
  }

  byDeviceCode(deviceCode: string): ApprovalRecord | undefined {
    const id = approvalIdOf(deviceCode, this.#db.data.deviceCodeSecret)
    return id === null ? undefined : this.#db.approvalsById.get(id)
  }

  /** Starts a register or login request; an open request with the same idempotency key answers again. */
  async start(request: StartRequest, now: number): Promise<Started> {
    const intent: ApprovalIntent = request.agentName !== undefined ? 'register' : 'login'
    const requestHash = sha256(JSON.stringify([request.clientId, request.scope, request.agentName, request.agentUsername, request.agentId, request.username]))
    if (request.idempotencyKey !== undefined) {
      const previous = this.#openByIdempotencyKey(request.clientId, request.idempotencyKey, now)
      if (previous) {
        if (previous.requestHash !== requestHash) {
          throw new OAuthFailure(422, 'invalid_request', 'this Idempotency-Key was already used with other parameters')
        }
        return { approval: previous, deviceCode: this.deviceCodeOf(previous) }
      }
    }
    const agent = intent === 'register' ? this.#newAgent(request, now) : this.#existingAgent(request, now)
    const approval: ApprovalRecord = {
      id: randomId('apr'),
      userCode: this.#freeUserCode(now),
      clientId: request.clientId,
      scope: request.scope,
      intent,
      agentId: agent.id,
      status: 'pending',
      createdAt: now,
      expiresAt: now + this.#options.approvalTtl * 1000,
      decidedAt: null,
      decidedBy: null,
      interval: this.#options.interval,
      lastPolledAt: null,
      idempotencyKey: request.idempotencyKey ?? null,
      requestHash,
      exchangedAt: null,
      familyId: null,
    }
    if (intent === 'register') this.#db.addAgent(agent)
    this.#db.addApproval(approval)
    await this.#db.save()
    return { approval, deviceCode: this.deviceCodeOf(approval) }
  }

  #openByIdempotencyKey(clientId: string, key: string, now: number): ApprovalRecord | undefined {
    for (let i = this.#db.data.approvals.length - 1; i >= 0; i--) {
      const approval = this.#db.data.approvals[i]!
      if (approval.idempotencyKey === key && approval.clientId === clientId && this.stateOf(approval, now) === 'pending') return approval
    }
    return undefined
  }

  #newAgent(request: StartRequest, now: number): AgentRecord {
    const name = request.agentName!
    let username = request.agentUsername
    if (username !== undefined) {
      this.#releaseStaleRegistrations(now)
      if (this.#db.agentByUsername(username)) throw invalidRequest(`the username "${username}" is taken`)
    } else {
      username = this.#freeUsername(name, now)
    }
    return { id: randomId('agt', 12), name, username, ownerId: null, status: 'pending', createdAt: now, lastSeenAt: null }
  }

  #existingAgent(request: StartRequest, now: number): AgentRecord {
    const agent = request.agentId !== undefined ? this.#db.agentsById.get(request.agentId) : this.#db.agentByUsername(request.username!)
    if (!agent || agent.status !== 'active') {
      throw invalidRequest(request.agentId !== undefined ? 'there is no active agent with that agent_id' : 'there is no active agent with that username')
    }
    agent.lastSeenAt = now
    return agent
  }

  /** A registration that was never approved frees its username once its approval has expired. */
  #releaseStaleRegistrations(now: number): void {
    for (const approval of this.#db.data.approvals) {
      if (approval.intent !== 'register' || this.stateOf(approval, now) !== 'expired') continue
      const agent = this.#db.agentsById.get(approval.agentId)
      if (agent && agent.status === 'pending') agent.status = 'rejected'
    }
  }

  #freeUsername(name: string, now: number): string {
    this.#releaseStaleRegistrations(now)
    let base = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 34)
    if (base.length < 3) base = `agent${base ? `-${base}` : ''}`
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? base : `${base}-${n}`
      if (!this.#db.agentByUsername(candidate)) return candidate
    }
  }

  #freeUserCode(now: number): string {
    for (;;) {
      const code = newUserCode()
      const holder = this.#db.approvalsByUserCode.get(code)
      if (!holder || this.stateOf(holder, now) !== 'pending') return code
    }
  }

  /** The human's decision. Login requests may be decided only by the agent's owner. */
  async decide(approval: ApprovalRecord, ownerId: string, decision: 'approved' | 'denied', now: number): Promise<void> {
    const agent = this.#db.agentsById.get(approval.agentId)
    if (approval.intent === 'login' && agent?.ownerId !== ownerId) {
      throw new OAuthFailure(403, 'access_denied', 'only the owner of this agent can decide its login request')
    }
    const state = this.stateOf(approval, now)
    if (state === 'expired') throw new OAuthFailure(400, 'expired_token', 'this approval request has expired')
    if (state !== 'pending') {
      if (state === decision) return
      throw new OAuthFailure(409, 'invalid_request', `this approval request was already ${state}`)
    }
    approval.status = decision
    approval.decidedAt = now
    approval.decidedBy = ownerId
    if (approval.intent === 'register' && agent) {
      if (decision === 'approved') {
        agent.ownerId = ownerId
        agent.status = 'active'
      } else {
        agent.status = 'rejected'
      }
    }
    await this.#db.save()
    this.#wake(approval.id)
  }

  #wake(approvalId: string): void {
    const waiters = this.#waiters.get(approvalId)
    if (!waiters) return
    this.#waiters.delete(approvalId)
    for (const wake of waiters) wake()
  }

  /** Resolves when the request is decided or the client goes away (false), or once `ms` have passed (true). */
  #waitForDecision(approvalId: string, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(approvalId)
      if (!waiters) this.#waiters.set(approvalId, (waiters = new Set()))
      const finish = (ranOut: boolean) => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        waiters.delete(done)
        if (waiters.size === 0 && this.#waiters.get(approvalId) === waiters) this.#waiters.delete(approvalId)
        resolve(ranOut)
      }
      const done = () => finish(false)
      const timer = setTimeout(() => finish(true), ms)
      signal?.addEventListener('abort', done, { once: true })
      waiters.add(done)
    })
  }

  /** Drops every long-poll (server closing). */
  releaseWaiters(): void {
    for (const id of [...this.#waiters.keys()]) this.#wake(id)
  }

  /**
   * The device-code grant: the answers of protocol §3.1, long-poll (§3.2) and
   * the redelivery window (§3.3).
   */
  async exchange(input: { deviceCode: string; clientId: string; waitSeconds?: number; signal?: AbortSignal }): Promise<Exchanged> {
    const approval = this.byDeviceCode(input.deviceCode)
    if (!approval) throw invalidGrant('the device code is unknown')
    if (approval.clientId !== input.clientId) throw invalidGrant('the device code was issued to another client')
    let now = this.#options.now()
    if (this.stateOf(approval, now) === 'pending') {
      const longPoll = input.waitSeconds !== undefined && !this.#waiters.has(approval.id)
      if (!longPoll && approval.lastPolledAt !== null && now - approval.lastPolledAt < approval.interval * 1000 - POLL_TOLERANCE_MS) {
        approval.interval += 5
        approval.lastPolledAt = now
        throw new OAuthFailure(400, 'slow_down', `polled faster than the interval; poll at most every ${approval.interval} seconds`)
      }
      if (longPoll) {
        const waitMs = Math.min(input.waitSeconds! * 1000, approval.expiresAt - now)
        const ranOut = await this.#waitForDecision(approval.id, waitMs, input.signal)
        // A timer can fire a moment before the clock shows its time has passed: a wait held to the
        // approval's expiry must answer expired_token, not authorization_pending.
        now = ranOut ? Math.max(this.#options.now(), now + waitMs) : this.#options.now()
      }
      approval.lastPolledAt = now
    }
    switch (this.stateOf(approval, now)) {
      case 'pending':
        throw new OAuthFailure(400, 'authorization_pending', 'the request has not been decided yet')
      case 'expired':
        throw new OAuthFailure(400, 'expired_token', 'the device code expired before the request was approved')
      case 'denied':
        throw new OAuthFailure(400, 'access_denied', 'the request was denied')
      case 'approved':
        return this.#issueForApproval(approval)
    }
  }

  /**
   * Exchanges of one code run one after the other: a retry racing its
   * original must find the pair the original issued, not start a second login.
   */
  #issueForApproval(approval: ApprovalRecord): Promise<Exchanged> {
    const previous = this.#issuing.get(approval.id) ?? Promise.resolve()
    const work = previous.catch(() => {}).then(() => this.#issueNow(approval, this.#options.now()))
    this.#issuing.set(approval.id, work)
    const forget = () => {
      if (this.#issuing.get(approval.id) === work) this.#issuing.delete(approval.id)
    }
    work.then(forget, forget)
    return work
  }

  async #issueNow(approval: ApprovalRecord, now: number): Promise<Exchanged> {
    const windowMs = this.#options.redeliveryWindow * 1000
    if (approval.exchangedAt !== null) return this.#redeliver(approval, now, windowMs)
    if (now > approval.expiresAt + windowMs) {
      throw new OAuthFailure(400, 'expired_token', 'the device code expired before it was exchanged')
    }
    const agent = this.#db.agentsById.get(approval.agentId)
    if (!agent || agent.status !== 'active') throw invalidGrant('the agent of this request is no longer active')
    const { family, pair } = await this.#tokens.startFamily({ agent, approvalId: approval.id, clientId: approval.clientId, scope: approval.scope }, now)
    approval.exchangedAt = now
    approval.familyId = family.id
    approval.issued = pair
    await this.#db.save()
    return { pair, agentId: agent.id, issuedAt: now }
  }

  /**
   * A repeat of an exchanged code: the pair it was answered with, again, while
   * that pair was never used and the window since the exchange lasts (the agent
   * died between the answer and its own save). A revoked login stays revoked.
   */
  async #redeliver(approval: ApprovalRecord, now: number, windowMs: number): Promise<Exchanged> {
    const exchangedAt = approval.exchangedAt as number
    if (approval.familyId !== null && this.#db.familiesById.get(approval.familyId)?.revokedAt != null) {
      throw invalidGrant('the tokens issued for this device code were revoked; a new approval is needed')
    }
    const pair = approval.issued
    if (now - exchangedAt > windowMs || !pair || !this.#tokens.isUnused(pair)) throw invalidGrant('the device code was already exchanged')
    const agent = this.#db.agentsById.get(approval.agentId)
    if (!agent || agent.status !== 'active') throw invalidGrant('the agent of this request is no longer active')
    return { pair: await this.#tokens.redeliverable(pair, approval.familyId as string, now), agentId: agent.id, issuedAt: now }
  }
}
