/**
 * Helpers for the owner API tests: raw JSON requests (to see every header and
 * status) and an agent that starts a register or login request.
 */
import { request as httpRequest } from 'node:http'
import { CLIENT_ID, DEVICE_CODE_GRANT, postForm } from '../support/server.js'

export interface Answer {
  status: number
  body: any
  headers: Headers
}

export async function jsonRequest(url: string, method: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.body !== undefined) headers['content-type'] ??= 'application/json'
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
  const response = await fetch(url, { method, headers, body })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers }
}

/**
 * A request with a session sent from another loopback address (127.0.0.2,
 * 127.0.0.3, ...): to the server, a client on another network.
 */
export function sessionRequestFrom(localAddress: string, url: string, method: string, path: string, session: { cookie: string; csrf: string }): Promise<{ status: number; body: any; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const sent = httpRequest({ host: hostname, port, method, path, localAddress, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } }, (response) => {
      let text = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
      response.on('end', () => {
        const retryAfter = response.headers['retry-after']
        resolve({ status: response.statusCode!, body: text ? JSON.parse(text) : undefined, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined })
      })
    })
    sent.on('error', reject)
    sent.end()
  })
}

/** Signs in and returns the cookie header value and the CSRF token. */
export async function signIn(url: string, email: string, password: string): Promise<{ cookie: string; csrf: string; ownerId: string; setCookie: string }> {
  const answer = await jsonRequest(`${url}/api/session`, 'POST', { body: { email, password } })
  if (answer.status !== 200) throw new Error(`sign-in failed with ${answer.status}: ${JSON.stringify(answer.body)}`)
  const setCookie = answer.headers.getSetCookie()[0] ?? ''
  return { cookie: setCookie.split(';')[0]!, csrf: answer.body.csrf_token, ownerId: answer.body.owner_id, setCookie }
}

export interface StartedApproval {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  agent_id: string
  interval: number
}

export async function startRegister(url: string, name: string): Promise<StartedApproval> {
  const answer = await postForm(`${url}/oauth/device_authorization`, { client_id: CLIENT_ID, agent_name: name, scope: 'agent offline_access' })
  if (answer.status !== 200) throw new Error(`device authorization failed with ${answer.status}: ${JSON.stringify(answer.body)}`)
  return answer.body
}

export async function startLogin(url: string, agentId: string): Promise<StartedApproval> {
  const answer = await postForm(`${url}/oauth/device_authorization`, { client_id: CLIENT_ID, agent_id: agentId, scope: 'agent offline_access' })
  if (answer.status !== 200) throw new Error(`device authorization failed with ${answer.status}: ${JSON.stringify(answer.body)}`)
  return answer.body
}

/** One device-code exchange; with `wait`, a long-poll that returns once the request is decided. */
export function exchange(url: string, deviceCode: string, wait?: number): Promise<{ status: number; body: any; headers: Headers }> {
  const params: Record<string, string> = { client_id: CLIENT_ID, grant_type: DEVICE_CODE_GRANT, device_code: deviceCode }
  if (wait !== undefined) params.wait = String(wait)
  return postForm(`${url}/oauth/token`, params)
}

export function refresh(url: string, refreshToken: string): Promise<{ status: number; body: any; headers: Headers }> {
  return postForm(`${url}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: refreshToken })
}
