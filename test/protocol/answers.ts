/** Raw answers for the process functions, built the way a server would send them. */
import type { ServerMetadata } from '../../src/protocol/types.js'

export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } })
}

export function textAnswer(status: number, text: string, contentType = 'application/json'): Response {
  return new Response(text, { status, headers: { 'content-type': contentType } })
}

export const oauthAnswer = (status: number, error: string, description?: string): Response =>
  jsonAnswer(status, description === undefined ? { error } : { error, error_description: description })

export const NOW = Date.UTC(2026, 0, 1, 12)

export const countersignMetadata: ServerMetadata = {
  issuer: 'http://127.0.0.1:4000',
  deviceAuthorizationEndpoint: 'http://127.0.0.1:4000/oauth/device_authorization',
  tokenEndpoint: 'http://127.0.0.1:4000/oauth/token',
  revocationEndpoint: 'http://127.0.0.1:4000/oauth/revoke',
  jwksUri: 'http://127.0.0.1:4000/.well-known/jwks.json',
  countersign: true,
  longPollSupported: true,
  agentRegistrationSupported: true,
}

export const plainMetadata: ServerMetadata = {
  ...countersignMetadata,
  countersign: false,
  longPollSupported: false,
  agentRegistrationSupported: false,
}

export interface CapturedRequest {
  url: string
  method: string
  headers: Headers
  form: URLSearchParams
  signal: AbortSignal | null
}

/** A fetch that records what it was asked and answers with `answer`. */
export function recordingFetch(answer: () => Response = () => jsonAnswer(200, {})) {
  const requests: CapturedRequest[] = []
  const fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body
    requests.push({
      url: String(input),
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      form: body instanceof URLSearchParams ? body : new URLSearchParams(typeof body === 'string' ? body : ''),
      signal: init.signal ?? null,
    })
    return answer()
  }
  return { fetch: fetch as typeof globalThis.fetch, requests }
}
