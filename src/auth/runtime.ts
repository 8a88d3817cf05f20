/**
 * The machinery behind one AuthManager: the auth actor, its persistence, the
 * published fields the hot path reads, and the waits of callers.
 *
 * An idle session sleeps. When the actor settles where it only waits for time
 * or events (signed in with the refresh scheduled, or signed out) and the
 * store holds that state, the actor is stopped and the manager keeps the
 * stored snapshot and one timer at the time it waits for. Any event, or the
 * timer, restores the actor from that snapshot, exactly as a new process
 * would. An XState actor costs several kilobytes; ten thousand idle agents
 * in one process cost a timer and a record each instead.
 */
import { randomInt } from 'node:crypto'
import { createActor } from 'xstate'
import type { AuthEmitted, AuthEvent, AuthFailure, TokenSet } from '../../machines/auth.js'
import { PROMPT_RETRY_AFTER_MS } from '../../machines/auth.policy.js'
import { ErrorCodes } from '../errors.js'
import type { ServerMetadata } from '../protocol/index.js'
import type { Lease, SessionChange, SessionRecord, SessionStore } from '../../stores/contract.js'
import { Alarm } from './alarm.js'
import { serverMetadata } from './discovery.js'
import { bindEffectHost, refreshAtServer, runtimeMachine, type EffectHost } from './effects.js'
import { AfterSave } from './after-save.js'
import { publicationOf, type EmittedHost } from './emitted.js'
import { disposedError, effectFailure } from './failures.js'
import { approvalInfoOf, type Flow } from './flow.js'
import { log, type ResolvedOptions, type StoreChoice } from './options.js'
import { SaveQueue, type PendingWrite, type SaveSource } from './persistence.js'
import { planRestore, wakeTimeOf, withCurrentSettings } from './restore.js'
import { sessionOf, type AuthState, type Session } from './session.js'
import { holdsNewerTokens, sharedRefresh, tokensOfRecord } from './shared-refresh.js'
import { isIdle, isStaleOver, recordOf, sameTokens, sessionOfSnapshot, stateOf, type AuthActor, type AuthSnapshot } from './snapshot.js'
import type { AuthLifecycleEvent, RuntimeStreams } from './streams.js'
import { accessTokenOf, tokenSetOfRecord } from './tokens.js'
import { hotOf, type HotToken } from './hot-token.js'
import { Waiters } from './waiters.js'

export class AuthRuntime implements EffectHost, SaveSource, EmittedHost {
  readonly baseUrl: string
  readonly store: SessionStore
  readonly ownsStore: boolean
  /** The store is read-only: the session is kept by another process, and this manager follows it. */
  readonly follower: boolean
  readonly config: ResolvedOptions
  readonly queue: SaveQueue

  state: AuthState = 'unknown'
  /** What tokenProvider's hot path hands out; null whenever the token set or the skew changes. */
  hot: HotToken | null = null
  #tokens: TokenSet | null = null
  #skewMs: number
  agentId: string | null = null
  failure: AuthFailure | null = null
  flow: Flow | null = null
  streams: RuntimeStreams | null = null

  #actor: AuthActor | null = null
  #unsubscribe: (() => void) | null = null
  #lastSnapshot: AuthSnapshot | null = null
  /** The stored snapshot a sleeping session wakes from; null wakes a fresh (signed-out) actor. */
  #dormant: unknown = null
  readonly #alarm: Alarm
  #loading: Promise<void> | null = null
  /** The latest work queued by `afterLoad()`, until it has run. */
  #afterLoad: Promise<void> | null = null
  readonly #waiters = new Waiters()
  #refreshWait: Promise<void> | null = null
  refreshFaults = 0
  /** Refresh faults since the current tokens were published: while there are any, the machine is retrying. */
  faultsSinceTokens = 0
  lastRefreshFault: AuthFailure | null = null
  #lease: Lease | null = null
  #unwatch: (() => void) | null = null
  #storeFailing = false
  #lastStoreError: unknown = undefined
  /** Results of transitions, held until the store has the transition (persist before publish). */
  readonly #afterSave = new AfterSave(() => this.#waiters.changed())
  #savedSession: Session | null = null

  /** The saved, current token set (published states only): what tokenProvider hands out. */
  get tokens(): TokenSet | null {
    return this.#tokens
  }

  set tokens(tokens: TokenSet | null) {
    this.#tokens = tokens
    this.hot = null
  }

  get skewMs(): number {
    return this.#skewMs
  }

  set skewMs(skewMs: number) {
    if (skewMs !== this.#skewMs) this.hot = null
    this.#skewMs = skewMs
  }

  constructor(baseUrl: string, choice: StoreChoice, config: ResolvedOptions) {
    this.baseUrl = baseUrl
    this.store = choice.store
    this.ownsStore = choice.owned
    this.follower = choice.follower
    this.config = config
    this.#skewMs = config.refreshSkewMs
    this.queue = new SaveQueue(choice.store, this)
    this.#alarm = new Alarm(config.clock, () => {
      if (this.#actor === null && this.state !== 'disposed') this.#wake()
    })
  }

  // Loading and restoring

  /**
   * Reads the store once; every use of the manager waits for this first, and
   * for the work queued with `afterLoad()` before it was asked.
   */
  ready(): Promise<void> {
    if (this.state === 'disposed') return Promise.reject(disposedError())
    if (this.#afterLoad !== null) return this.#afterLoad
    if (this.state !== 'unknown') return Promise.resolve()
    return this.#loaded()
  }

  /** Whether a reader must wait for `ready()`: the store is not read yet, or work queued after its load has not run. */
  get settling(): boolean {
    return this.state === 'unknown' || this.#afterLoad !== null
  }

  #loaded(): Promise<void> {
    return (this.#loading ??= this.#load().catch((error: unknown) => {
      this.#loading = null
      throw error
    }))
  }

  /**
   * Runs `work` once the store is read, before any reader that asks for
   * `ready()` later: what `work` changes is there for each of them. A manager
   * disposed meanwhile skips it. The returned promise rejects only if the
   * store could not be read.
   */
  afterLoad(work: () => void): Promise<void> {
    const previous = this.#afterLoad ?? this.#loaded()
    const done: Promise<void> = previous.then(() => {
      if (this.state !== 'disposed') work()
    })
    this.#afterLoad = done
    const settle = () => {
      if (this.#afterLoad === done) this.#afterLoad = null
    }
    done.then(settle, settle)
    return done
  }

  async #load(): Promise<void> {
    const record = await this.store.load()
    if (this.state === 'disposed') throw disposedError()
    this.queue.version = record?.version ?? 0
    this.queue.lastRecord = record
    if (!this.ownsStore) this.#watchStore()
    if (this.follower) return this.#follow(record)
    const plan = planRestore(record, this.config.clock.now())
    if (plan.kind === 'snapshot') {
      // The settings are this process's, not those the snapshot was saved with.
      const snapshot = withCurrentSettings(plan.snapshot, this.config.refreshSkewMs)
      const actor = this.#tryCreateActor(snapshot)
      if (actor !== null) return this.#restore(actor, snapshot)
      const tokens = tokenSetOfRecord(record!, this.config.clock.now())
      this.#reportRestoreProblem(`the stored machine snapshot did not restore; ${tokens ? 'continuing with the tokens the record holds' : 'the record holds no tokens to continue with'}`)
      if (tokens !== null) return this.#startWith(tokens)
    } else {
      if (plan.problem !== null) this.#reportRestoreProblem(plan.problem)
      if (plan.kind === 'tokens') return this.#startWith(plan.tokens)
    }
    this.state = 'signedOut'
    this.#changed()
  }

  #restore(actor: AuthActor, stored: unknown): void {
    const snapshot = actor.getSnapshot()
    const context = snapshot.context
    if (snapshot.matches('starting') || snapshot.matches('pendingApproval')) {
      this.flow = { key: context.idempotencyKey, approval: context.approval ? approvalInfoOf(context.approval) : null, outcome: null, pollListeners: null }
    }
    const wakeAt = wakeTimeOf(stored)
    if (isIdle(snapshot) && wakeAt !== undefined && (wakeAt === null || wakeAt > this.config.clock.now())) {
      // Nothing to do until then: stay asleep as the stored snapshot; the actor is never started.
      this.#apply(snapshot)
      this.#dormant = snapshot.matches('signedOut') ? null : stored
      this.#alarm.set(wakeAt)
      this.#changed()
      return
    }
    this.#attach(actor)
    actor.start()
  }

  #startWith(tokens: TokenSet): void {
    this.state = 'signedOut'
    this.send({ type: 'SET_TOKENS', tokens })
  }

  #reportRestoreProblem(message: string): void {
    log(this.config.logger, 'warn', `countersign: ${message}`)
    this.publishEvent({ type: 'restoreFailed', failure: { code: ErrorCodes.RESTORE_FAILED, message, at: this.config.clock.now() } })
  }

  // The actor: creating, waking, sleeping

  #createActor(snapshot?: unknown): AuthActor {
    const actor = createActor(runtimeMachine, {
      input: { settings: { refreshSkewMs: this.config.refreshSkewMs }, jitterSeed: randomInt(2 ** 31) },
      clock: this.config.clock,
      ...(snapshot === undefined ? {} : { snapshot: snapshot as never }),
    })
    bindEffectHost(actor.system, this)
    return actor
  }

  #tryCreateActor(snapshot: unknown): AuthActor | null {
    try {
      const actor = this.#createActor(snapshot)
      return actor.getSnapshot().status === 'active' ? actor : null
    } catch {
      return null
    }
  }

  /** The running actor, restored from the stored snapshot if the session was asleep. */
  #wake(): AuthActor {
    if (this.#actor !== null) return this.#actor
    if (this.state === 'disposed') throw disposedError()
    this.#alarm.clear()
    const actor = this.#createActor(this.#dormant ?? undefined)
    this.#dormant = null
    this.#attach(actor)
    actor.start()
    return actor
  }

  send(event: AuthEvent): void {
    if (this.follower) throw new TypeError(`store is read-only: this AuthManager follows a session and cannot act on it (${event.type})`)
    this.#wake().send(event)
  }

  #attach(actor: AuthActor): void {
    this.#actor = actor
    const snapshots = actor.subscribe({
      next: (snapshot) => this.#onSnapshot(actor, snapshot),
      error: (error) => this.#onActorError(actor, error),
    })
    const emitted = actor.on('*', (event) => this.#onEmitted(event as AuthEmitted))
    this.#unsubscribe = () => {
      snapshots.unsubscribe()
      emitted.unsubscribe()
    }
  }

  #detach(): AuthActor | null {
    const actor = this.#actor
    this.#unsubscribe?.()
    this.#unsubscribe = null
    this.#actor = null
    this.#lastSnapshot = null
    return actor
  }

  /** Sleeps once the store holds exactly this idle state, unless something happened meanwhile. */
  #sleepWhenSaved(snapshot: AuthSnapshot): void {
    void this.queue.whenIdle().then(() => {
      const actor = this.#actor
      if (actor === null || actor.getSnapshot() !== snapshot || this.queue.lastCovered !== snapshot) return
      let dormant: unknown = null
      let wakeAt: number | null = null
      if (!snapshot.matches('signedOut')) {
        dormant = this.queue.lastRecord?.machine?.snapshot
        const at = wakeTimeOf(dormant)
        // A wake time already reached means the actor is about to act on it: let it.
        if (dormant === undefined || at === undefined || (at !== null && at <= this.config.clock.now())) return
        wakeAt = at
      }
      this.#detach()
      actor.stop()
      // The live snapshot refers to the actor and its children: let them go.
      this.queue.lastCovered = undefined
      this.#dormant = dormant
      this.#alarm.set(wakeAt)
    })
  }

  // What the actor reports

  #onSnapshot(actor: AuthActor, snapshot: AuthSnapshot): void {
    if (actor !== this.#actor) return
    if (snapshot === this.#lastSnapshot) {
      this.#afterSave.place(null)
      return this.#waiters.changed()
    }
    this.#lastSnapshot = snapshot
    this.#apply(snapshot)
    const saved = this.queue.request()
    saved.then(
      () => (this.#storeFailing = false),
      (error: unknown) => this.#onStoreFailure(error),
    )
    const view = sessionOfSnapshot(snapshot)
    this.#afterSave.hold(() => this.#releaseSession(view))
    this.#afterSave.place(saved)
    if (isIdle(snapshot)) this.#sleepWhenSaved(snapshot)
    this.#waiters.changed()
  }

  /** Copies what callers read from the snapshot: tokens only from states where they are saved and current. */
  #apply(snapshot: AuthSnapshot): void {
    const context = snapshot.context
    this.state = stateOf(snapshot)
    this.skewMs = context.settings.refreshSkewMs
    this.failure = context.failure
    const tokens = snapshot.hasTag('published') ? context.tokens : null
    this.agentId = context.agentId ?? tokens?.agentId ?? null
    // A woken actor restores an equal set as a new object: only a different set is news.
    if (!sameTokens(tokens, this.tokens)) {
      this.tokens = tokens
      this.faultsSinceTokens = 0
      this.streams?.publishToken(tokens === null ? null : accessTokenOf(tokens))
    }
  }

  /** Emitted during the transition, before its snapshot is reported: published once that snapshot is saved. */
  #onEmitted(event: AuthEmitted): void {
    this.#afterSave.hold(publicationOf(this, event))
  }

  #onActorError(actor: AuthActor, error: unknown): void {
    if (actor !== this.#actor) return
    this.#detach()
    this.#afterSave.place(null)
    const failure = effectFailure(error, this.config.clock.now())
    log(this.config.logger, 'error', `countersign: the auth actor stopped on an error: ${failure.message}`)
    this.state = 'signedOut'
    this.tokens = null
    this.failure = failure
    this.endFlow(failure.message)
    this.#changed()
  }

  #onStoreFailure(error: unknown): void {
    if (this.#storeFailing || this.state === 'disposed') return
    this.#storeFailing = true
    const failure = effectFailure(error, this.config.clock.now())
    log(this.config.logger, 'warn', `countersign: could not save the session: ${failure.message}`)
    this.publishEvent({ type: 'storeFailed', failure })
  }

  publishEvent(event: AuthLifecycleEvent): void {
    this.streams?.publishEvent(event)
  }

  get lastStoreError(): unknown {
    return this.#lastStoreError
  }

  now(): number {
    return this.config.clock.now()
  }

  // Flows and waits

  /** Ends the current approval flow, if it is still open, as aborted. */
  endFlow(message: string): void {
    const flow = this.flow
    if (flow !== null && flow.outcome === null) flow.outcome = { failure: { code: ErrorCodes.ABORTED, message, at: this.config.clock.now() } }
  }

  endFlowOnStoreError(flow: Flow, failure: AuthFailure, error: unknown): void {
    flow.outcome = { failure }
    flow.storeError = error
    queueMicrotask(() => {
      if (this.flow === flow && this.state !== 'disposed') this.send({ type: 'ABORT', at: this.config.clock.now() })
    })
  }

  /** Resolves once what every transition so far produced is published (each after the store has it). */
  published(): Promise<void> {
    return this.#afterSave.whenDrained()
  }

  /** Puts `tokens` on the token provider's fast path, unless a token is there already. */
  warm(tokens: TokenSet): void {
    if (this.hot === null) this.hot = hotOf(tokens, this.skewMs)
  }

  /** Resolves when `check()` holds (checked after every change); rejects when it throws or the manager is disposed. */
  waitFor(check: () => boolean): Promise<void> {
    if (this.state === 'disposed') return Promise.reject(disposedError())
    return this.#waiters.wait(check)
  }

  /** A change made outside a transition (loading, following, an actor error): published after what is held before it. */
  #changed(): void {
    this.#waiters.changed()
    const view = this.session()
    this.#afterSave.inOrder(() => this.#releaseSession(view))
  }

  /** A session view whose state the store has: the one session$ shows, and starts a new subscriber with. */
  #releaseSession(view: Session): void {
    this.#savedSession = view
    this.streams?.publishSession(view)
  }

  /** The session as last published: the state the store has (the live state before anything was). */
  publishedSession(): Session {
    return this.#savedSession ?? this.session()
  }

  /** Sends one REFRESH and resolves at the next token, refresh fault or end of session. Shared by concurrent callers. */
  refreshOnce(): Promise<void> {
    return (this.#refreshWait ??= this.#refreshNow().finally(() => {
      this.#refreshWait = null
    }))
  }

  async #refreshNow(): Promise<void> {
    const before = this.tokens
    if (this.follower) return this.#nextFollowed(before)
    // A fault too fresh to cut the backoff short: wait until it may be (at most PROMPT_RETRY_AFTER_MS), so the
    // caller's wait holds one attempt instead of running out at the end of a long backoff.
    const fault = this.faultsSinceTokens > 0 ? this.lastRefreshFault : null
    const untilOld = fault?.at == null ? 0 : fault.at + PROMPT_RETRY_AFTER_MS - this.config.clock.now()
    if (untilOld > 0) {
      await new Promise<void>((resolve) => this.config.clock.setTimeout(() => resolve(), untilOld))
      if (this.tokens !== before || this.state === 'disposed') return
    }
    const faults = this.refreshFaults
    // While a refresh backs off after a fault, the machine may try it again at once for this caller.
    if (this.state === 'authenticated' || this.state === 'refreshing') this.send({ type: 'REFRESH', at: this.config.clock.now() })
    await this.waitFor(() => this.tokens !== before || this.refreshFaults !== faults || (this.state !== 'authenticated' && this.state !== 'refreshing'))
  }

  session(): Session {
    return sessionOf({ state: this.state, agentId: this.agentId, tokens: this.tokens, skewMs: this.skewMs, approval: this.flow?.approval ?? null, failure: this.failure })
  }

  // Effects the machine invokes (EffectHost)

  metadata(signal: AbortSignal): Promise<ServerMetadata> {
    return serverMetadata(this.baseUrl, this.config.fetch, signal)
  }

  async persist(): Promise<void> {
    try {
      await this.queue.request()
    } catch (error) {
      this.#lastStoreError = error
      throw error
    }
    const lease = this.#lease
    this.#lease = null
    await lease?.release().catch(() => {})
  }

  /**
   * The store learns that a refresh is under way before the refresh token
   * is sent: a process that dies before saving the answer restarts in
   * `refreshing` and repeats the same request, which the server answers
   * with the same successor pair within its redelivery window. Restarting in
   * `active` instead would send the rotated token later, as reuse.
   */
  async refresh(refreshToken: string, signal: AbortSignal): Promise<TokenSet> {
    await this.queue.request()
    const atServer = async () => refreshAtServer(this.config, await this.metadata(signal), refreshToken, signal)
    if (this.ownsStore) return atServer()
    const queue = this.queue
    return sharedRefresh(
      {
        store: this.store,
        clock: this.config.clock,
        currentTokens: this.tokens,
        adoptVersion: (record) => {
          queue.version = record.version
          queue.lastRecord = record
        },
        holdLease: (lease) => {
          this.#lease = lease
        },
      },
      refreshToken,
      signal,
      atServer,
    )
  }

  // The store (SaveSource and the change feed)

  nextWrite(): PendingWrite {
    const actor = this.#actor
    if (actor === null) return this.state === 'signedOut' ? { kind: 'clear', covers: null } : { kind: 'none', covers: null }
    const snapshot = actor.getSnapshot()
    if (snapshot.matches('signedOut')) return { kind: 'clear', covers: snapshot }
    return { kind: 'save', covers: snapshot, record: recordOf(snapshot, actor.getPersistedSnapshot(), this.baseUrl, this.config.clock.now()) }
  }

  /**
   * Someone else wrote the shared store. This manager's write goes in over
   * it, unless it would put older tokens over newer ones: then it is
   * dropped, so the store never goes back to a rotated refresh token, and
   * the manager adopts the stored set instead.
   */
  onConflict(current: SessionRecord | null, write: PendingWrite): boolean {
    if (write.kind !== 'save' || !isStaleOver(current, write.covers as AuthSnapshot, write.record)) return true
    queueMicrotask(() => this.#considerForeign(current!))
    return false
  }

  #watchStore(): void {
    try {
      this.#unwatch = this.store.watch((change) => this.#onStoreChange(change))
    } catch (error) {
      log(this.config.logger, 'warn', `countersign: cannot follow the session store's changes: ${effectFailure(error, 0).message}`)
    }
  }

  #onStoreChange(change: SessionChange): void {
    if (this.follower) return this.#follow(change.record)
    const record = change.record
    if (record === null) return
    // Our own writes arrive here too; once the queue is idle it knows which versions were ours.
    void this.queue.whenIdle().then(() => {
      if (change.version > this.queue.version) this.#considerForeign(record)
    })
  }

  /** Someone else saved newer tokens: refresh, and the refresh adopts them from the store instead of asking the server. */
  #considerForeign(record: SessionRecord): void {
    if (this.state === 'authenticated' && holdsNewerTokens(record, this.tokens)) this.send({ type: 'REFRESH' })
  }

  // Following a session another process keeps (a read-only store)

  /** Takes what the keeper saved: its tokens, or no session. */
  #follow(record: SessionRecord | null): void {
    if (this.state === 'disposed') return
    const tokens = record === null ? null : tokensOfRecord(record, this.config.clock.now())
    this.state = tokens === null ? 'signedOut' : 'authenticated'
    this.agentId = record?.agentId ?? tokens?.agentId ?? null
    if (!sameTokens(tokens, this.tokens)) {
      this.tokens = tokens
      this.faultsSinceTokens = 0
      this.streams?.publishToken(tokens === null ? null : accessTokenOf(tokens))
    }
    this.#changed()
  }

  /** Reads the store once more (a follower's forceRefresh). */
  async reloadFollowed(): Promise<void> {
    this.#follow(await this.store.load())
  }

  /** Resolves when the keeper saves other tokens, or when `before` expires without a successor. */
  #nextFollowed(before: TokenSet | null): Promise<void> {
    const expiresAt = before?.accessExpiresAt ?? null
    const alarm = new Alarm(this.config.clock, () => this.#changed())
    alarm.set(expiresAt)
    return this.waitFor(() => this.tokens !== before || (expiresAt !== null && this.config.clock.now() >= expiresAt)).finally(() => alarm.clear())
  }

  // The end

  dispose(): void {
    if (this.state === 'disposed') return
    this.state = 'disposed'
    this.tokens = null
    this.#alarm.clear()
    this.#dormant = null
    this.#detach()?.stop()
    this.#unwatch?.()
    this.#unwatch = null
    void this.#lease?.release().catch(() => {})
    this.#lease = null
    this.endFlow('the AuthManager was disposed')
    this.#afterSave.abandon()
    this.#waiters.rejectAll(disposedError)
    if (this.streams !== null) {
      if (this.streams.wantsSession) this.streams.publishSession(this.session())
      this.streams.complete()
    }
    if (this.ownsStore) void this.queue.whenIdle().then(() => this.store.close()).catch(() => {})
  }
}
