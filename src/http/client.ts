/**
 * `createHttpClient()`: a fetch that stays authenticated.
 *
 * - Every request to the base URL's origin carries `Authorization: Bearer`
 *   with the token source's current token. A URL on another origin is
 *   fetched as given, without the token: the token is for our server only
 *   (the platform fetch also drops it on a redirect to another origin).
 * - A 401 asks the source for one refresh (shared by every request and
 *   socket on that source that met the same refusal; 'expired' when the
 *   challenge's error_description or the token's own exp says it expired,
 *   else 'unauthorized': see token-expiry.ts) and sends the request
 *   once more, when its body can be sent again (string, URLSearchParams,
 *   Blob, ArrayBuffer, typed arrays, FormData; not a stream). A second 401,
 *   or a first one with a stream body, rejects with `UNAUTHORIZED`: the
 *   client's promise is an authenticated answer, and a caller should not
 *   have to tell our refusals from the application's statuses.
 * - 403 with a Bearer `insufficient_scope` challenge rejects with
 *   InsufficientScopeError carrying the scopes named. Every other status
 *   is returned as a Response, as fetch does.
 * - `timeoutMs` (per client, or per request) bounds the whole call, body
 *   included, and is combined with the caller's AbortSignal. Time-outs and
 *   network faults reject with NetworkError (cause kept); an abort with
 *   AbortError.
 * - Misuse: bad options of `createHttpClient()` throw a TypeError naming the
 *   option at once (nothing has started). Bad arguments of `fetch()` reject
 *   its promise with a TypeError naming the argument, as the platform fetch
 *   does: a caller of a call that returns a promise handles one channel.
 */
import { systemClock, type Clock } from '../clock.js'
import { AbortError, CountersignError, ErrorCodes, InsufficientScopeError, NetworkError } from '../errors.js'
import { resolveTokenSource, tokenGateOf, type TokenGate, type TokenOrigin } from '../token-source.js'
import { refusalReason } from '../token-expiry.js'
import { challengeParams, insufficientScopeOf } from './challenge.js'

/** Options of `createHttpClient()` besides the token's origin. */
export interface HttpClientBaseOptions {
  /** Base URL: relative paths are resolved under it (its path included), and its origin alone gets the token. */
  baseUrl: string | URL
  /** Default time limit of each call, ms. None by default. */
  timeoutMs?: number
  /** The fetch to send with. Default the global one. */
  fetch?: typeof fetch
  /** Timers of the time limit. Default the system clock. */
  clock?: Clock
}

/**
 * Options of `createHttpClient()`: a base URL, and either `tokenProvider` (any
 * token source) or `auth` (an AuthManager: its tokenProvider, and
 * forceRefresh() after a 401), never both.
 */
export type HttpClientOptions = HttpClientBaseOptions & TokenOrigin

/** fetch's RequestInit, with a time limit of its own. */
export interface HttpRequestInit extends RequestInit {
  /** Time limit of this call, ms (overrides the client's). */
  timeoutMs?: number
}

/** What `createHttpClient()` returns. */
export interface HttpClient {
  readonly baseUrl: string
  /**
   * fetch with the token: resolves with the Response, rejects as described in
   * the module notes; a bad `input` or `init` rejects with a TypeError naming it.
   */
  fetch(input: string | URL | Request, init?: HttpRequestInit): Promise<Response>
}

const positiveMs = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value > 0

/** A fetch that stays authenticated: see the module notes above for what it adds, retries and rejects. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object { baseUrl, tokenProvider } or { baseUrl, auth }')
  const base = parseBaseUrl(options.baseUrl)
  const source = resolveTokenSource(options)
  const gate = tokenGateOf(source)
  if (options.timeoutMs !== undefined && !positiveMs(options.timeoutMs)) throw new TypeError('options.timeoutMs must be a positive number of milliseconds')
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError('options.fetch must be a function')
  const clock = options.clock ?? systemClock
  const send = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const defaults = { base, gate, clock, send, timeoutMs: options.timeoutMs }
  return {
    baseUrl: base.href,
    // async: a bad argument found by prepare() rejects the call, as the platform fetch does, instead of throwing.
    fetch: async (input, init = {}) => authorizedFetch(defaults, prepare(defaults, input, init)),
  }
}

function parseBaseUrl(value: unknown): URL {
  const text = value instanceof URL ? value.href : value
  if (typeof text !== 'string' || !URL.canParse(text)) throw new TypeError('options.baseUrl must be an absolute http(s) URL')
  const url = new URL(text)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`options.baseUrl must be an http(s) URL, not ${url.protocol}`)
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  url.search = ''
  url.hash = ''
  return url
}

interface ClientDefaults {
  base: URL
  gate: TokenGate
  clock: Clock
  send: typeof fetch
  timeoutMs: number | undefined
}

/** A path joins the base path ('/api/x' under 'https://h/v1' is 'https://h/v1/api/x'); an absolute URL stays as it is. */
function resolveUrl(base: URL, input: string | URL | Request): URL {
  if (input instanceof URL) return new URL(input.href)
  if (typeof input === 'object' && input !== null && input instanceof Request) return new URL(input.url)
  if (typeof input !== 'string') throw new TypeError('input must be a path, a URL or a Request')
  if (URL.canParse(input)) return new URL(input)
  // Leading slashes are dropped so '//other.host/x' cannot leave the base origin.
  return new URL(input.replace(/^\/+/, ''), base)
}

function isReplayable(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof FormData
  )
}

interface Prepared {
  url: URL
  request: Request | null
  rest: RequestInit
  what: string
  limit: Limit
}

/** Checks the call's arguments (a TypeError naming the bad one; fetch() turns it into its rejection) and starts its time limit. */
function prepare(client: ClientDefaults, input: string | URL | Request, init: HttpRequestInit): Prepared {
  if (typeof init !== 'object' || init === null) throw new TypeError('init must be an object')
  const url = resolveUrl(client.base, input)
  const request = input instanceof Request ? input : null
  const { timeoutMs = client.timeoutMs, signal: callerSignal, ...rest } = init
  if (timeoutMs !== undefined && !positiveMs(timeoutMs)) throw new TypeError('init.timeoutMs must be a positive number of milliseconds')
  const method = (rest.method ?? request?.method ?? 'GET').toUpperCase()
  const what = `${method} ${url.origin}${url.pathname}`
  return { url, request, rest, what, limit: new Limit(client.clock, callerSignal ?? request?.signal ?? null, timeoutMs, what) }
}

async function authorizedFetch(client: ClientDefaults, { url, request, rest, what, limit }: Prepared): Promise<Response> {
  const attempt = (token: string | null) => {
    const headers = new Headers(rest.headers ?? request?.headers)
    if (token !== null) headers.set('authorization', `Bearer ${token}`)
    const requestInit: RequestInit = { ...rest, headers, signal: limit.signal }
    return limit.guard(() => client.send(request ?? url, requestInit))
  }
  try {
    if (url.origin !== client.base.origin) return await attempt(null)
    const replayable = rest.body !== undefined ? isReplayable(rest.body) : request === null || request.body === null
    const takenAt = client.gate.generation
    const token = await limit.guard(() => client.gate.current(), 'token')
    let response = await attempt(token)
    if (response.status === 401) {
      const reason = refusalReason(token, challengeParams(response.headers.get('www-authenticate'))?.error_description, client.clock.now())
      await discard(response)
      const refreshed = await limit.guard(() => client.gate.afterRefusal(token, takenAt, reason), 'token')
      if (!replayable) {
        throw new CountersignError(ErrorCodes.UNAUTHORIZED, `${what} was refused with 401; the access token was refreshed, but the request body (a stream) cannot be sent twice: send the request again`, { status: 401 })
      }
      response = await attempt(refreshed)
      if (response.status === 401) {
        const params = challengeParams(response.headers.get('www-authenticate'))
        await discard(response)
        const why = params?.error_description ? ` (${params.error_description})` : ''
        throw new CountersignError(ErrorCodes.UNAUTHORIZED, `${what} was refused with 401 even with a refreshed access token${why}`, { status: 401, ...(params?.error ? { oauthError: params.error } : {}) })
      }
    }
    if (response.status === 403) {
      const scopes = insufficientScopeOf(response.headers.get('www-authenticate'))
      if (scopes !== null) {
        await discard(response)
        const needed = scopes.length ? `: ${scopes.join(' ')}` : ''
        throw new InsufficientScopeError(scopes, `${what} was refused with 403: the access token lacks a required scope${needed}`)
      }
    }
    return response
  } catch (error) {
    limit.clear()
    throw error
  }
}

/** Frees the connection of an answer we do not hand back. */
async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {})
}

/** The call's AbortSignal: the caller's combined with the time limit, and the errors each one means. */
class Limit {
  readonly signal: AbortSignal | undefined
  readonly #caller: AbortSignal | null
  readonly #timeout: AbortController | null
  readonly #clock: Clock
  readonly #what: string
  #timer: unknown

  constructor(clock: Clock, caller: AbortSignal | null, timeoutMs: number | undefined, what: string) {
    if (caller !== null && !(caller instanceof AbortSignal)) throw new TypeError('init.signal must be an AbortSignal')
    this.#caller = caller
    this.#clock = clock
    this.#what = what
    this.#timeout = timeoutMs === undefined ? null : new AbortController()
    if (this.#timeout) {
      const timeout = this.#timeout
      this.#timer = clock.setTimeout(() => timeout.abort(new NetworkError(`${what} timed out after ${timeoutMs} ms`)), timeoutMs!)
      // The limit also covers reading the body; it must not keep the process alive once the caller is done.
      ;(this.#timer as { unref?: () => void } | null)?.unref?.()
    }
    const signals = [caller, this.#timeout?.signal].filter((s): s is AbortSignal => s != null)
    this.signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals)
  }

  clear(): void {
    if (this.#timeout) this.#clock.clearTimeout(this.#timer)
  }

  /**
   * Runs one step (a token, a fetch) and rejects as soon as the call is
   * aborted, with the error that says why. A fetch's failure becomes a
   * NetworkError; a token source's passes through as it is.
   */
  async guard<T>(step: () => Promise<T>, kind: 'fetch' | 'token' = 'fetch'): Promise<T> {
    const signal = this.signal
    if (signal?.aborted) throw this.#reason()
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(this.#reason())
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    aborted.catch(() => {})
    try {
      return await Promise.race([step(), aborted])
    } catch (error) {
      if (signal?.aborted) throw this.#reason()
      if (error instanceof CountersignError || kind === 'token') throw error
      throw new NetworkError(`${this.#what} failed: ${causeText(error)}`, { cause: error })
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort)
    }
  }

  #reason(): CountersignError {
    if (this.#caller?.aborted) return new AbortError(`${this.#what} was aborted`, { cause: this.#caller.reason })
    return this.#timeout!.signal.reason as NetworkError
  }
}

/** The most telling part of a fetch failure: undici's cause code (ECONNREFUSED ...) or a message. */
function causeText(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause
  if (typeof cause?.code === 'string') return cause.code
  if (typeof cause?.message === 'string' && cause.message) return cause.message
  return error instanceof Error ? error.message : String(error)
}
