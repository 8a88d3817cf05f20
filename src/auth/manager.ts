/**
 * AuthManager: the agent runtime's facade, compatible with the seed API.
 * It checks what callers pass, turns calls into events for the auth actor,
 * and waits for what the actor reports; the decisions are the machine's.
 */
import { randomUUID } from 'node:crypto'
import type { Observable } from 'rxjs'
import type { AuthEvent } from '../../machines/auth.js'
import { assertArgument, CountersignError, ErrorCodes, TokenRefreshError } from '../errors.js'
import type { SessionStore } from '../../stores/contract.js'
import type { TokenStore } from '../../stores/token-store.js'
import { getAuthHeaderOf, getAuthTokenOf, type AuthToken } from '../token-source.js'
import { ApprovalHandle } from './approval-handle.js'
import { disposedError, errorOfFailure } from './failures.js'
import { newFlow } from './flow.js'
import { log, parseBaseUrl, resolveOptions, resolveStore, type AuthManagerOptions } from './options.js'
import { AuthRuntime } from './runtime.js'
import type { AuthState, Session } from './session.js'
import { RuntimeStreams, type AuthLifecycleEvent } from './streams.js'
import { notAuthenticatedError, tokenProviderOf } from './token-provider.js'
import { accessTokenOf, tokenSetOfStrings, type AccessToken } from './tokens.js'

/** What `register()` asks for: a new agent. */
export interface RegisterParams {
  /** Display name of the new agent (1-100 characters). */
  name: string
  /** The handle wanted; the server derives one from the name when absent. */
  username?: string
  /** Space-separated scopes. */
  scope?: string
}

/** Log in an existing agent by id or by username; with neither, a plain device login (standard RFC 8628 providers). */
export interface LoginParams {
  agentId?: string
  username?: string
  scope?: string
}

/**
 * An agent's session: sign-in through human approval (`register()`,
 * `login()`, `resume()`), then a live access token (`tokenProvider`) kept
 * fresh and saved in the store until `revoke()` or `dispose()`.
 */
export class AuthManager {
  readonly #runtime: AuthRuntime
  #tokenProvider: (() => Promise<string>) | null = null

  /**
   * @param baseUrl the approval server (issuer), e.g. `http://127.0.0.1:4000`
   * @param store a seed-shaped TokenStore (sync or async) or a session store (MemoryStore, FileStore); default in memory
   */
  constructor(baseUrl: string | URL, store?: SessionStore | TokenStore | null, options?: AuthManagerOptions) {
    const url = parseBaseUrl(baseUrl)
    const config = resolveOptions(options)
    const chosen = resolveStore(store)
    this.#runtime = new AuthRuntime(url, chosen, config)
  }

  /** The approval server (issuer) this manager talks to, without a trailing slash. */
  get baseUrl(): string {
    return this.#runtime.baseUrl
  }

  /** Where the session stands now. */
  get state(): AuthState {
    return this.#runtime.state
  }

  /** The agent signed in or being approved; null when unknown (signed out, or a plain RFC 8628 provider). */
  get agentId(): string | null {
    return this.#runtime.agentId
  }

  /** The session's public state (no secrets), current value first. */
  get session$(): Observable<Session> {
    const runtime = this.#runtime
    return this.#streams().session$(() => runtime.publishedSession())
  }

  /** The current access token (null while signed out), each new one once. */
  get token$(): Observable<AccessToken | null> {
    const runtime = this.#runtime
    return this.#streams().token$(() => (runtime.tokens === null ? null : accessTokenOf(runtime.tokens)))
  }

  /** Lifecycle events: approvalStarted, pollAttempt, authenticated, refreshed, refreshFailed, sessionEnded, revoked, ... */
  get events$(): Observable<AuthLifecycleEvent> {
    return this.#streams().events$
  }

  /**
   * `() => Promise<string>`: the current access token. When it is about to
   * expire, waits for the one refresh the manager makes (however many call).
   * Rejects with TokenRefreshError when not authenticated. A bound function:
   * pass `auth.tokenProvider` as is.
   */
  get tokenProvider(): () => Promise<string> {
    return (this.#tokenProvider ??= tokenProviderOf(this.#runtime))
  }

  /** Asks for a new agent: resolves with the ApprovalHandle once the server has the request. */
  register(params: RegisterParams): Promise<ApprovalHandle> {
    this.#assertWriter('register()')
    assertArgument(typeof params === 'object' && params !== null, 'params', 'an object with a name')
    const { name, username, scope } = params
    assertArgument(typeof name === 'string' && name.trim().length > 0, 'params.name', 'a non-empty string')
    assertArgument(username === undefined || (typeof username === 'string' && username.length > 0), 'params.username', 'a non-empty string when given')
    checkScope(scope)
    return this.#start({
      type: 'REGISTER',
      name,
      idempotencyKey: randomUUID(),
      ...(username === undefined ? {} : { username }),
      ...(scope === undefined ? {} : { scope }),
    })
  }

  /** Asks to sign in an existing agent (its owner approves): resolves with the ApprovalHandle. */
  login(params: LoginParams = {}): Promise<ApprovalHandle> {
    this.#assertWriter('login()')
    assertArgument(typeof params === 'object' && params !== null, 'params', 'an object: { agentId } or { username }')
    const { agentId, username, scope } = params
    assertArgument(agentId === undefined || (typeof agentId === 'string' && agentId.length > 0), 'params.agentId', 'a non-empty string when given')
    assertArgument(username === undefined || (typeof username === 'string' && username.length > 0), 'params.username', 'a non-empty string when given')
    assertArgument(agentId === undefined || username === undefined, 'params', 'either { agentId } or { username }, not both')
    checkScope(scope)
    return this.#start({
      type: 'LOGIN',
      idempotencyKey: randomUUID(),
      ...(agentId === undefined ? {} : { agentId }),
      ...(username === undefined ? {} : { username }),
      ...(scope === undefined ? {} : { scope }),
    })
  }

  async #start(event: Extract<AuthEvent, { type: 'REGISTER' | 'LOGIN' }>): Promise<ApprovalHandle> {
    const runtime = this.#runtime
    await runtime.ready()
    runtime.endFlow('the approval request was replaced by a new register() or login()')
    const flow = newFlow(event.idempotencyKey)
    runtime.flow = flow
    runtime.send(event)
    await runtime.waitFor(() => flow.approval !== null || flow.outcome !== null)
    if (flow.storeError !== undefined) throw flow.storeError
    if (flow.outcome?.failure) throw errorOfFailure(flow.outcome.failure)
    return new ApprovalHandle(runtime, flow)
  }

  /**
   * Picks up what the store holds: 'authenticated' when signed in, the
   * ApprovalHandle of an approval still pending (its polling goes on), or
   * null when there is no session.
   */
  async resume(): Promise<'authenticated' | ApprovalHandle | null> {
    const runtime = this.#runtime
    await runtime.ready()
    const answer = await this.#resumed()
    // What resume() says is also what session$ and events$ say by then: both wait for the store.
    // The answer is the state found, though: a pending approval refused meanwhile still comes back
    // as its handle, whose waitForApproval() tells why.
    await runtime.published()
    if (runtime.state === 'disposed') throw disposedError()
    return answer
  }

  async #resumed(): Promise<'authenticated' | ApprovalHandle | null> {
    const runtime = this.#runtime
    for (;;) {
      const state = runtime.state
      if (state === 'authenticated' || state === 'refreshing') return 'authenticated'
      if (state === 'signedOut') return null
      if (state === 'disposed') throw disposedError()
      if (state === 'pendingApproval' && runtime.flow?.approval) return new ApprovalHandle(runtime, runtime.flow)
      const flow = runtime.flow
      if (state === 'starting' && flow?.outcome?.failure) throw errorOfFailure(flow.outcome.failure)
      await runtime.waitFor(() => runtime.state !== state || (flow !== null && (flow.approval !== null || flow.outcome !== null)))
    }
  }

  /**
   * Uses tokens saved elsewhere (no approval). The access token's `exp` tells when to refresh. Every call made
   * after this one sees these tokens. The promise resolves once they are saved in the store, and rejects if they
   * could not be (the store could not be read, or the session ended or took other tokens first); it is fine to
   * ignore it, as the seed does: a rejection nobody awaits is not reported as unhandled.
   */
  setTokens(accessToken: string, refreshToken?: string | null): Promise<void> {
    this.#assertWriter('setTokens()')
    assertArgument(typeof accessToken === 'string' && accessToken.length > 0, 'accessToken', 'a non-empty string')
    assertArgument(refreshToken === undefined || refreshToken === null || typeof refreshToken === 'string', 'refreshToken', 'a string, null or undefined')
    const runtime = this.#runtime
    if (runtime.state === 'disposed') throw disposedError()
    const tokens = tokenSetOfStrings(accessToken, refreshToken ? refreshToken : null, runtime.config.clock.now())
    runtime.endFlow('the approval request was replaced by setTokens()')
    const send = () => runtime.send({ type: 'SET_TOKENS', tokens })
    // In order: a call made while an earlier one still waits for the load goes after it; every later call waits
    // for this (ready() includes it), so each sees the tokens; a dispose meanwhile skips it.
    let sent: Promise<void>
    if (runtime.settling) {
      sent = runtime.afterLoad(send)
      sent.catch((error: unknown) => {
        if (runtime.state === 'disposed') return
        log(runtime.config.logger, 'error', `countersign: setTokens() could not read the session store: ${error instanceof Error ? error.message : String(error)}`)
      })
    } else {
      send()
      sent = Promise.resolve()
    }
    const saved = sent
      .then(() => runtime.waitFor(() => runtime.state !== 'authenticating'))
      .then(() => {
        if (runtime.tokens?.accessToken === accessToken) return
        if (runtime.failure !== null) throw errorOfFailure(runtime.failure)
        throw new CountersignError(ErrorCodes.NOT_AUTHENTICATED, 'the tokens given to setTokens() were replaced or ended before they were saved')
      })
    saved.catch(() => {})
    return saved
  }

  /** `{ token, expiresIn }` (seconds left) of the current access token: the authenticator shape a backend hands its front end. */
  getAuthToken(): Promise<AuthToken> {
    return getAuthTokenOf(this, this.#runtime.config.clock)
  }

  /** `Bearer <token>`, for an Authorization header. */
  getAuthHeader(): Promise<string> {
    return getAuthHeaderOf(this)
  }

  /** Refreshes now; resolves once the new tokens are saved. Rejects with TokenRefreshError. */
  async forceRefresh(): Promise<void> {
    const runtime = this.#runtime
    await runtime.ready()
    if (runtime.follower) return forceFollowerRefresh(runtime)
    if (runtime.state === 'authenticating') await runtime.waitFor(() => runtime.state !== 'authenticating')
    if (runtime.state !== 'authenticated' && runtime.state !== 'refreshing') throw notAuthenticatedError(runtime)
    const before = runtime.tokens
    const faults = runtime.refreshFaults
    if (runtime.state === 'authenticated') runtime.send({ type: 'REFRESH' })
    await runtime.waitFor(() => runtime.tokens !== before || runtime.refreshFaults !== faults || (runtime.state !== 'authenticated' && runtime.state !== 'refreshing'))
    if (runtime.tokens !== null && runtime.tokens !== before) return
    const failure = runtime.refreshFaults !== faults ? runtime.lastRefreshFault : runtime.failure
    if (failure === null) throw notAuthenticatedError(runtime)
    throw new TokenRefreshError(failure.message, { code: failure.code, ...(failure.status === undefined ? {} : { status: failure.status }), ...(failure.oauthError === undefined ? {} : { oauthError: failure.oauthError }) })
  }

  /** Revokes the tokens at the server (best effort, bounded) and clears the local session. */
  revoke(): Promise<void> {
    this.#assertWriter('revoke()')
    return this.#revoke()
  }

  async #revoke(): Promise<void> {
    const runtime = this.#runtime
    await runtime.ready()
    if (runtime.state !== 'signedOut') {
      runtime.send({ type: 'REVOKE', at: runtime.config.clock.now() })
      await runtime.waitFor(() => runtime.state === 'signedOut')
    }
    // The local clear is durable before revoke() resolves.
    await runtime.queue.request()
  }

  /** Stops timers, effects and streams. The manager cannot be used afterwards; the process can exit. */
  dispose(): void {
    this.#runtime.dispose()
  }

  /** A follower only reads its session: the calls that change one need the store its keeper writes. */
  #assertWriter(call: string): void {
    if (this.#runtime.follower) {
      throw new TypeError(`store is read-only: this AuthManager follows the session another process keeps there, so ${call} needs a writable store`)
    }
  }

  #streams(): RuntimeStreams {
    const runtime = this.#runtime
    return (runtime.streams ??= new RuntimeStreams((error) => {
      log(runtime.config.logger, 'warn', `countersign: a stream subscriber threw (${error instanceof Error ? error.name : typeof error}); the runtime carried on`)
    }))
  }
}

function checkScope(scope: unknown): void {
  assertArgument(scope === undefined || (typeof scope === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(scope)), 'params.scope', 'space-separated scope names when given')
}

/** A follower cannot refresh: it reads the store once more, and takes a newer set its keeper saved. */
async function forceFollowerRefresh(runtime: AuthRuntime): Promise<void> {
  const before = runtime.tokens
  await runtime.reloadFollowed()
  if (runtime.tokens !== null && runtime.tokens !== before) return
  throw new TokenRefreshError('this AuthManager follows a session another process keeps (its store is read-only here) and that process has saved no newer token', {
    code: runtime.tokens === null ? ErrorCodes.NOT_AUTHENTICATED : ErrorCodes.TOKEN_REFRESH_FAILED,
  })
}
