/**
 * What every protocol step shares: sending a request with a caller's fetch and
 * signal, and reading an answer into either a JSON object or a typed error.
 * A request that got no answer, and a 5xx or 429, become NetworkError: a
 * transient fault the caller retries, never confused with the server's word.
 */
import { AbortError, CountersignError, ErrorCodes, NetworkError } from '../errors.js'
import type { RequestOptions } from './types.js'

export type JsonObject = Record<string, unknown>

/** Where a request went, for messages: origin and path, never a query or a body. */
function describeUrl(url: string | URL): string {
  const u = new URL(url)
  return `${u.origin}${u.pathname}`
}

function failureOfFetch(error: unknown, what: string, url: string | URL, signal: AbortSignal | undefined): CountersignError {
  if (signal?.aborted) {
    const reason: unknown = signal.reason
    if (reason instanceof Error && reason.name === 'TimeoutError') {
      return new NetworkError(`the request to the ${what} (${describeUrl(url)}) timed out`, { cause: reason })
    }
    return new AbortError(`the request to the ${what} was aborted`, { cause: reason })
  }
  const detail = error instanceof Error ? error.message : String(error)
  return new NetworkError(`could not reach the ${what} (${describeUrl(url)}): ${detail}`, { cause: error })
}

/** Sends one request; a request that got no answer rejects with NetworkError or AbortError. */
export async function send(url: string | URL, init: RequestInit, what: string, options: RequestOptions = {}): Promise<Response> {
  const doFetch = options.fetch ?? globalThis.fetch
  if (typeof doFetch !== 'function') throw new TypeError('options.fetch must be a function')
  try {
    return await doFetch(url, { ...init, signal: options.signal ?? null, redirect: 'manual' })
  } catch (error) {
    throw failureOfFetch(error, what, url, options.signal)
  }
}

/** POSTs an application/x-www-form-urlencoded body; parameters with an undefined value are left out. */
export function postForm(
  url: string,
  params: Record<string, string | undefined>,
  what: string,
  options: RequestOptions = {},
  headers: Record<string, string> = {},
): Promise<Response> {
  const body = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) if (value !== undefined) body.set(name, value)
  return send(
    url,
    {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', ...headers },
      body,
    },
    what,
    options,
  )
}

export function assertResponse(response: unknown): asserts response is Response {
  if (!(response instanceof Response)) throw new TypeError('response must be a Response')
}

/** Frees the connection of an answer whose body we will not read. */
function discard(response: Response): void {
  response.body?.cancel().catch(() => {})
}

function isJsonContentType(value: string | null): boolean {
  if (!value) return false
  const type = value.split(';')[0]!.trim().toLowerCase()
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

export function invalidResponse(what: string, problem: string, status?: number): CountersignError {
  return new CountersignError(ErrorCodes.INVALID_RESPONSE, `the ${what} answered ${problem}`, status === undefined ? {} : { status })
}

/**
 * Reads an answer as a JSON object. 5xx and 429 throw NetworkError (with the
 * status): the server did not decide anything. Anything that is not a JSON
 * object throws INVALID_RESPONSE. The body text never goes into a message:
 * it may hold tokens.
 */
export async function readJsonObject(response: Response, what: string): Promise<JsonObject> {
  const { status } = response
  if (status >= 500 || status === 429) {
    discard(response)
    const retry = response.headers.get('retry-after')
    throw new NetworkError(`the ${what} answered ${status}${status === 429 ? ' (too many requests)' : ''}; try again${retry ? ` after ${retry} s` : ' later'}`, { status })
  }
  const contentType = response.headers.get('content-type')
  if (!isJsonContentType(contentType)) {
    discard(response)
    throw invalidResponse(what, `${status} with content type ${contentType ? `"${contentType.slice(0, 80)}"` : '(none)'}, not JSON`, status)
  }
  let text: string
  try {
    text = await response.text()
  } catch (error) {
    throw new NetworkError(`the answer of the ${what} was cut off`, { cause: error, status })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    // The parser's message quotes the text, which may hold a token: keep it out.
    throw invalidResponse(what, `${status} with malformed JSON`, status)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidResponse(what, `${status} with JSON that is not an object`, status)
  }
  return value as JsonObject
}

export interface OAuthErrorAnswer {
  error: string
  description: string | null
}

/** The RFC 6749 §5.2 error of an answer, or null when the body names none. */
export function oauthErrorOf(body: JsonObject): OAuthErrorAnswer | null {
  if (typeof body.error !== 'string' || body.error.length === 0) return null
  const description = typeof body.error_description === 'string' ? sanitize(body.error_description) : null
  return { error: sanitize(body.error), description }
}

/** Server text going into our messages: one line, bounded. */
function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}

/** An OAuth error answer the flow cannot continue from. */
export function oauthError(what: string, status: number, answer: OAuthErrorAnswer): CountersignError {
  return new CountersignError(ErrorCodes.OAUTH_ERROR, describeOAuthError(what, status, answer), { status, oauthError: answer.error })
}

export function describeOAuthError(what: string, status: number, answer: OAuthErrorAnswer): string {
  return `the ${what} answered ${answer.error} (${status})${answer.description ? `: ${answer.description}` : ''}`
}

/** An answer that is neither success nor an OAuth error: INVALID_RESPONSE with its status. */
export function unexpectedStatus(what: string, status: number): CountersignError {
  return invalidResponse(what, `${status} without an OAuth error`, status)
}

// Field readers: each names the field and what was wrong with it.

export function requiredString(body: JsonObject, field: string, what: string, status: number): string {
  const value = body[field]
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidResponse(what, `${status} without a valid "${field}" (${value === undefined ? 'missing' : 'expected a non-empty string'})`, status)
  }
  return value
}

export function optionalString(body: JsonObject, field: string, what: string, status: number): string | null {
  const value = body[field]
  if (value === undefined || value === null) return null
  if (typeof value !== 'string') throw invalidResponse(what, `${status} with "${field}" that is not a string`, status)
  return value
}

/** A count of seconds; numeric strings are accepted because some providers send them. */
export function optionalSeconds(body: JsonObject, field: string, what: string, status: number): number | null {
  const value = body[field]
  if (value === undefined || value === null) return null
  const seconds = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw invalidResponse(what, `${status} with "${field}" that is not a non-negative number of seconds`, status)
  }
  return seconds
}

export function optionalBoolean(body: JsonObject, field: string): boolean {
  return body[field] === true
}

export function optionalUrl(body: JsonObject, field: string, what: string, status: number): string | null {
  const value = optionalString(body, field, what, status)
  if (value === null) return null
  if (!URL.canParse(value)) throw invalidResponse(what, `${status} with "${field}" that is not a URL`, status)
  return value
}
