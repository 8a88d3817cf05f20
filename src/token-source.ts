/**
 * Token sources: the one function shape both live clients take, and the
 * adapters to it from the shapes our users already have.
 *
 * - `TokenSource`: `(reason?) => Promise<string>`; 'unauthorized' means the
 *   server refused the last token, so the source must refresh, not repeat it;
 *   'expired' that it refused it as expired, so the source's current token
 *   will do when it is a newer one (the clients tell which: token-expiry.ts).
 *   A seed-style `auth.tokenProvider` (no argument) fits the type but cannot
 *   force a refresh: pass the AuthManager itself (`{ auth }`) where that matters.
 * - The authenticator shape of the SDKs our users come from,
 *   `{ getAuthToken(): Promise<{ token, expiresIn }>, getAuthHeader() }`:
 *   `cachingAuthenticator()` wraps a user-written one, `authenticatorFor()`
 *   offers an AuthManager as one.
 * - `TokenGate`: after a refusal, one refresh per refused token however many
 *   requests and sockets met it (single flight shared per source).
 */
import type { Clock } from './clock.js'
import { systemClock } from './clock.js'
import { CountersignError, ErrorCodes } from './errors.js'
import { tokenExpiresAt, type RefusalReason } from './token-expiry.js'

/**
 * Why a token is asked for. 'expired': the server refused the last one as
 * expired; give the current token, replacing it if it is that one (the
 * clients ask again with 'unauthorized' when the answer is the refused
 * token). 'unauthorized': the server refused the last one for another
 * reason; refresh, never repeat it.
 */
export type TokenReason = 'initial' | 'expired' | 'unauthorized'

/** The token function both live clients take: resolves with a current access token. */
export type TokenSource = (reason?: TokenReason) => Promise<string>

/** The authenticator token shape: `expiresIn` is the token's remaining lifetime in seconds. */
export interface AuthToken {
  token: string
  expiresIn: number
}

/** The authenticator shape of the SDKs our users come from. */
export interface Authenticator {
  /** The current token and its remaining lifetime. */
  getAuthToken(): Promise<AuthToken>
  /** `Bearer <token>`. */
  getAuthHeader(): Promise<string>
}

/** What a user writes: `getAuthHeader` is derived when missing. */
export interface CustomAuthenticator {
  /** The current token and its remaining lifetime, in seconds. */
  getAuthToken(): Promise<AuthToken>
  /** `Bearer <token>`; derived from getAuthToken() when missing. */
  getAuthHeader?(): Promise<string>
}

/** A minimal subscribable, so any Observable (RxJS or not) fits. */
export interface TokenChanges<T = unknown> {
  /** Starts the notifications. */
  subscribe(observer: { next: (value: T) => void; error?: (error: unknown) => void }): {
    /** Stops them. */
    unsubscribe(): void
  }
}

/** The part of an AuthManager the clients use: a token, a forced refresh, and the stream of token sets. */
export interface AuthSource {
  /** The current access token. */
  tokenProvider: () => Promise<string>
  /** Refreshes now, whatever the token's expiry says. */
  forceRefresh(): Promise<unknown>
  readonly token$?: TokenChanges<{ accessToken: string } | null>
}

/**
 * Where a client takes its token from: exactly one of `tokenProvider` or
 * `auth`. Naming both, or neither, does not type-check (and throws a
 * TypeError at run time, for callers without types).
 */
export type TokenOrigin =
  | {
      /** The token source. */
      tokenProvider: TokenSource
      /** Not with `tokenProvider`. */
      auth?: never
    }
  | {
      /** An AuthManager: its tokenProvider, forceRefresh() after a refusal, and token$ for rotations. */
      auth: AuthSource
      /** Not with `auth`. */
      tokenProvider?: never
    }

const isFunction = (value: unknown): value is (...args: never[]) => unknown => typeof value === 'function'

export function isAuthSource(value: unknown): value is AuthSource {
  const auth = value as Partial<AuthSource> | null
  return typeof auth === 'object' && auth !== null && isFunction(auth.tokenProvider) && isFunction(auth.forceRefresh)
}

const sourcesOfAuth = new WeakMap<AuthSource, TokenSource>()

/**
 * The token source of an AuthManager: its tokenProvider, and for
 * 'unauthorized' a forced refresh first. One function per manager, so every
 * client built on it shares one TokenGate.
 */
export function tokenSourceOf(auth: AuthSource): TokenSource {
  if (!isAuthSource(auth)) throw new TypeError('auth must be an AuthManager (with tokenProvider and forceRefresh())')
  let source = sourcesOfAuth.get(auth)
  if (!source) {
    source = async (reason) => {
      if (reason === 'unauthorized') await auth.forceRefresh()
      return auth.tokenProvider()
    }
    sourcesOfAuth.set(auth, source)
  }
  return source
}

/** The token source of an authenticator; 'unauthorized' drops a caching authenticator's cached token first. */
export function tokenSourceOfAuthenticator(authenticator: CustomAuthenticator & { invalidate?(): void }): TokenSource {
  if (typeof authenticator !== 'object' || authenticator === null || !isFunction(authenticator.getAuthToken)) {
    throw new TypeError('authenticator must have a getAuthToken() method')
  }
  return async (reason) => {
    if (reason === 'unauthorized') authenticator.invalidate?.()
    return checkedAuthToken(await authenticator.getAuthToken()).token
  }
}

/**
 * Picks the token source of client options given either `tokenProvider` or
 * `auth`; `name` is the argument's name in the TypeError of a mistake.
 */
export function resolveTokenSource(options: { tokenProvider?: unknown; auth?: unknown }, name = 'options'): TokenSource {
  const { tokenProvider, auth } = options
  if (tokenProvider !== undefined && auth !== undefined) throw new TypeError(`${name} must name either tokenProvider or auth, not both`)
  if (auth !== undefined) return tokenSourceOf(auth as AuthSource)
  if (!isFunction(tokenProvider)) throw new TypeError(`${name}.tokenProvider must be a function returning a Promise of the access token (or pass ${name}.auth)`)
  return tokenProvider as TokenSource
}

/** A token as a source gave it: a non-empty string, or a clear error that does not echo what it was. */
export function checkedToken(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    const what = value === '' ? 'an empty string' : value === undefined || value === null ? String(value) : `a ${typeof value}`
    throw new CountersignError(ErrorCodes.INVALID_RESPONSE, `the token source gave ${what} instead of an access token`)
  }
  return value
}

function checkedAuthToken(value: unknown): AuthToken {
  const token = value as Partial<AuthToken> | null
  if (typeof token !== 'object' || token === null) throw new CountersignError(ErrorCodes.INVALID_RESPONSE, 'getAuthToken() resolved without an object { token, expiresIn }')
  checkedToken(token.token)
  if (typeof token.expiresIn !== 'number' || !Number.isFinite(token.expiresIn) || token.expiresIn < 0) {
    throw new CountersignError(ErrorCodes.INVALID_RESPONSE, 'getAuthToken() resolved with an "expiresIn" that is not a number of seconds ≥ 0')
  }
  return token as AuthToken
}

/** Options of `cachingAuthenticator()`. */
export interface CachingAuthenticatorOptions {
  /** Refetch this long before the token expires, ms. Default 60 000. */
  earlyMs?: number
  clock?: Pick<Clock, 'now'>
}

/** What `cachingAuthenticator()` returns. */
export interface CachingAuthenticator extends Authenticator {
  /** Forgets the cached token: the next call fetches a new one. */
  invalidate(): void
  /** This authenticator as a TokenSource ('unauthorized' invalidates first). */
  readonly tokenSource: TokenSource
}

/**
 * Wraps a user-written authenticator: its token is kept until `expiresIn −
 * 60 s` (a token with less than that left is used once and not kept), callers
 * at the same moment share one `getAuthToken()` call, and a failure is not
 * kept: the next call tries again. `expiresIn` is answered as what is left.
 */
export function cachingAuthenticator(custom: CustomAuthenticator, options: CachingAuthenticatorOptions = {}): CachingAuthenticator {
  if (typeof custom !== 'object' || custom === null || !isFunction(custom.getAuthToken)) throw new TypeError('custom must be an authenticator with a getAuthToken() method')
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const earlyMs = options.earlyMs ?? 60_000
  if (typeof earlyMs !== 'number' || !Number.isFinite(earlyMs) || earlyMs < 0) throw new TypeError('options.earlyMs must be a number of milliseconds ≥ 0')
  const clock = options.clock ?? systemClock
  if (typeof clock !== 'object' || clock === null || !isFunction(clock.now)) throw new TypeError('options.clock must have now()')

  let cached: { token: string; expiresAt: number; keepUntil: number } | null = null
  let inFlight: Promise<AuthToken> | null = null
  /** Bumped by invalidate(), so a fetch started before it does not refill the cache with the refused token. */
  let epoch = 0

  const fetchToken = () => {
    const startedIn = epoch
    const call = (async () => {
      const token = checkedAuthToken(await custom.getAuthToken())
      const fetchedAt = clock.now()
      const expiresAt = fetchedAt + token.expiresIn * 1000
      if (startedIn === epoch && token.expiresIn * 1000 > earlyMs) cached = { token: token.token, expiresAt, keepUntil: expiresAt - earlyMs }
      return { token: token.token, expiresIn: token.expiresIn }
    })()
    inFlight = call
    const clear = () => {
      if (inFlight === call) inFlight = null
    }
    call.then(clear, clear)
    return call
  }

  const self: CachingAuthenticator = {
    async getAuthToken() {
      const now = clock.now()
      if (cached !== null && now < cached.keepUntil) return { token: cached.token, expiresIn: Math.max(0, Math.floor((cached.expiresAt - now) / 1000)) }
      cached = null
      return inFlight ?? fetchToken()
    },
    async getAuthHeader() {
      return `Bearer ${(await self.getAuthToken()).token}`
    },
    invalidate() {
      cached = null
      inFlight = null
      epoch++
    },
    tokenSource: async (reason) => {
      if (reason === 'unauthorized') self.invalidate()
      return (await self.getAuthToken()).token
    },
  }
  return self
}

/** Seconds until a JWT's `exp`, or null for a token that is not a JWT with one. Reads, never verifies. */
function secondsLeft(token: string, now: number): number | null {
  const expiresAt = tokenExpiresAt(token)
  return expiresAt === null ? null : Math.max(0, Math.floor((expiresAt - now) / 1000))
}

/**
 * An AuthManager as an authenticator. `expiresIn` comes from the access
 * token's own `exp`; for an opaque token it is 0, so a caller that caches by
 * it asks again each time instead of holding a token past its life.
 * `AuthManager.getAuthToken()` / `getAuthHeader()` delegate here.
 */
export function authenticatorFor(auth: Pick<AuthSource, 'tokenProvider'>, options: { clock?: Pick<Clock, 'now'> } = {}): Authenticator {
  if (typeof auth !== 'object' || auth === null || !isFunction(auth.tokenProvider)) throw new TypeError('auth must be an AuthManager (with tokenProvider)')
  const clock = options.clock ?? systemClock
  return {
    getAuthToken: () => getAuthTokenOf(auth, clock),
    getAuthHeader: () => getAuthHeaderOf(auth),
  }
}

/** `{ token, expiresIn }` of an AuthManager's current access token. */
export async function getAuthTokenOf(auth: Pick<AuthSource, 'tokenProvider'>, clock: Pick<Clock, 'now'> = systemClock): Promise<AuthToken> {
  const token = checkedToken(await auth.tokenProvider())
  return { token, expiresIn: secondsLeft(token, clock.now()) ?? 0 }
}

/** `Bearer <token>` of an AuthManager's current access token. */
export async function getAuthHeaderOf(auth: Pick<AuthSource, 'tokenProvider'>): Promise<string> {
  return `Bearer ${checkedToken(await auth.tokenProvider())}`
}

/**
 * One refresh per refused token. A client notes `generation` when it takes a
 * token; when the server refuses it, `afterRefusal(token, generation)` joins
 * the refresh under way, or, when one finished since the token was taken,
 * returns the source's current token, or else starts the one refresh. It is
 * started without an `await` before it is recorded, so callers meeting a 401
 * at the same moment cannot start two.
 */
export class TokenGate {
  readonly #source: TokenSource
  #refreshing: Promise<string> | null = null
  #generation = 0

  constructor(source: TokenSource) {
    this.#source = source
  }

  /** Completed refreshes so far. */
  get generation(): number {
    return this.#generation
  }

  current(reason: TokenReason = 'initial'): Promise<string> {
    return callSource(this.#source, reason)
  }

  /**
   * The token to use after `refused` (taken at `takenAt`) was refused, as
   * `reason` says: 'expired' asks the source with 'expired' first, anything
   * else with 'initial'; only when that answer is the refused token again
   * does it force a refresh with 'unauthorized'.
   */
  afterRefusal(refused: string, takenAt: number, reason: RefusalReason = 'unauthorized'): Promise<string> {
    if (this.#refreshing) return this.#refreshing
    if (this.#generation > takenAt) return this.current()
    const refresh = (async () => {
      // The source may have rotated on its own since, or replaced an expired token itself: a new token needs no forced refresh.
      const now = await callSource(this.#source, reason === 'expired' ? 'expired' : 'initial')
      return now !== refused ? now : callSource(this.#source, 'unauthorized')
    })()
    // A failed refresh is not counted: the next refusal tries again instead of reusing the refused token.
    this.#refreshing = refresh.then(
      (token) => {
        this.#generation++
        this.#refreshing = null
        return token
      },
      (error: unknown) => {
        this.#refreshing = null
        throw error
      },
    )
    return this.#refreshing
  }
}

const gates = new WeakMap<TokenSource, TokenGate>()

/** The gate of a source: one per source, so the HTTP client and sockets on one source share refreshes. */
export function tokenGateOf(source: TokenSource): TokenGate {
  let gate = gates.get(source)
  if (!gate) gates.set(source, (gate = new TokenGate(source)))
  return gate
}

/**
 * Calls a source and checks what it gave. Its failure passes through as it
 * is: a CountersignError's code says whether the session is over (a socket
 * then stops); any other error is taken as passing (a socket backs off and
 * asks again), since only the source knows better.
 */
async function callSource(source: TokenSource, reason: TokenReason): Promise<string> {
  return checkedToken(await source(reason))
}
