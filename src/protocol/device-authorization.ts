/**
 * Starting an approval (protocol §2, RFC 8628 §3.1–3.2): register a new agent
 * or log in an existing one. The agent parameters and the Idempotency-Key are
 * extensions, sent only to a server that advertises them; a plain provider
 * gets a standard device authorization request and signs in whoever approves.
 */
import { assertArgument } from '../errors.js'
import {
  assertResponse,
  invalidResponse,
  oauthError,
  oauthErrorOf,
  optionalSeconds,
  optionalString,
  optionalUrl,
  postForm,
  readJsonObject,
  requiredString,
  unexpectedStatus,
} from './http.js'
import { assertNow } from './token-response.js'
import type { DeviceAuthorization, DeviceAuthorizationParams, RequestOptions, ServerMetadata } from './types.js'

const WHAT = 'device authorization endpoint'

function agentParams(params: DeviceAuthorizationParams): Record<string, string | undefined> {
  const agent = params.agent
  if (agent === undefined) return {}
  if (agent.intent === 'register') {
    assertArgument(typeof agent.name === 'string' && agent.name.length > 0, 'params.agent.name', 'a non-empty string')
    assertArgument(agent.username === undefined || typeof agent.username === 'string', 'params.agent.username', 'a string when given')
    return { agent_name: agent.name, agent_username: agent.username }
  }
  if (agent.intent === 'login') {
    if ('agentId' in agent) {
      assertArgument(typeof agent.agentId === 'string' && agent.agentId.length > 0, 'params.agent.agentId', 'a non-empty string')
      return { agent_id: agent.agentId }
    }
    assertArgument(typeof agent.username === 'string' && agent.username.length > 0, 'params.agent.username', 'a non-empty string')
    return { username: agent.username }
  }
  throw new TypeError('params.agent.intent must be "register" or "login"')
}

/** POSTs the device authorization request. */
export function deviceAuthorizationRequest(
  metadata: ServerMetadata,
  params: DeviceAuthorizationParams,
  options: RequestOptions = {},
): Promise<Response> {
  assertArgument(typeof params?.clientId === 'string' && params.clientId.length > 0, 'params.clientId', 'a non-empty string')
  assertArgument(params.scope === undefined || typeof params.scope === 'string', 'params.scope', 'a string when given')
  const key = params.idempotencyKey
  assertArgument(key === undefined || (typeof key === 'string' && /^[\x21-\x7e]{1,255}$/.test(key)), 'params.idempotencyKey', '1-255 printable characters')
  const extensions = metadata.agentRegistrationSupported ? agentParams(params) : {}
  const headers: Record<string, string> = metadata.countersign && key !== undefined ? { 'idempotency-key': key } : {}
  return postForm(metadata.deviceAuthorizationEndpoint, { client_id: params.clientId, scope: params.scope, ...extensions }, WHAT, options, headers)
}

/**
 * Checks the answer. Success is a DeviceAuthorization with an absolute
 * `expiresAt` computed from `now`; an OAuth error answer (unknown agent,
 * bad parameters, 422 for a reused Idempotency-Key) throws OAUTH_ERROR;
 * 5xx and 429 throw NetworkError.
 */
export async function processDeviceAuthorizationResponse(response: Response, options: { now: number }): Promise<DeviceAuthorization> {
  assertResponse(response)
  assertNow(options?.now)
  const body = await readJsonObject(response, WHAT)
  const { status } = response
  if (status !== 200) {
    const answer = oauthErrorOf(body)
    throw answer ? oauthError(WHAT, status, answer) : unexpectedStatus(WHAT, status)
  }
  const deviceCode = requiredString(body, 'device_code', WHAT, status)
  const userCode = requiredString(body, 'user_code', WHAT, status)
  // Some providers (Google) spell it verification_url.
  const verificationUri = optionalUrl(body, 'verification_uri', WHAT, status) ?? optionalUrl(body, 'verification_url', WHAT, status)
  if (verificationUri === null) throw invalidResponse(WHAT, `${status} without a valid "verification_uri"`, status)
  const expiresIn = optionalSeconds(body, 'expires_in', WHAT, status)
  if (expiresIn === null || expiresIn <= 0) throw invalidResponse(WHAT, `${status} without a positive "expires_in"`, status)
  const interval = optionalSeconds(body, 'interval', WHAT, status)
  return {
    deviceCode,
    userCode,
    verificationUri,
    verificationUriComplete: optionalUrl(body, 'verification_uri_complete', WHAT, status),
    expiresAt: options.now + Math.round(expiresIn * 1000),
    intervalMs: interval === null ? null : Math.round(interval * 1000),
    agentId: optionalString(body, 'agent_id', WHAT, status),
  }
}
