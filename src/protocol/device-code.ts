/**
 * Polling for the decision (protocol §3, RFC 8628 §3.4–3.5). Each answer of
 * the table in §3.1 becomes one PollResult; what to do about it is the
 * statechart's business. Errors outside the table throw.
 */
import { assertArgument } from '../errors.js'
import { assertResponse, oauthError, oauthErrorOf, postForm, readJsonObject, unexpectedStatus } from './http.js'
import { assertNow, TOKEN_ENDPOINT, tokenSetOf } from './token-response.js'
import type { PollResult, RequestOptions, ServerMetadata } from './types.js'

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code'

/** The long-poll bounds of protocol §3.2. */
export const MAX_WAIT_SECONDS = 30

export interface DeviceCodeGrantParams {
  deviceCode: string
  clientId: string
  /** Long-poll for up to this many seconds (1-30); sent only when the server supports it. */
  waitSeconds?: number
}

/** POSTs one device-code token request. */
export function deviceCodeGrantRequest(metadata: ServerMetadata, params: DeviceCodeGrantParams, options: RequestOptions = {}): Promise<Response> {
  assertArgument(typeof params?.deviceCode === 'string' && params.deviceCode.length > 0, 'params.deviceCode', 'a non-empty string')
  assertArgument(typeof params.clientId === 'string' && params.clientId.length > 0, 'params.clientId', 'a non-empty string')
  const wait = params.waitSeconds
  assertArgument(
    wait === undefined || (Number.isInteger(wait) && wait >= 1 && wait <= MAX_WAIT_SECONDS),
    'params.waitSeconds',
    `an integer from 1 to ${MAX_WAIT_SECONDS}`,
  )
  return postForm(
    metadata.tokenEndpoint,
    {
      grant_type: DEVICE_CODE_GRANT_TYPE,
      device_code: params.deviceCode,
      client_id: params.clientId,
      wait: metadata.longPollSupported && wait !== undefined ? String(wait) : undefined,
    },
    TOKEN_ENDPOINT,
    options,
  )
}

/**
 * Reads a poll answer. The five answers of §3.1 and a token response are
 * results; any other OAuth error (invalid_client, ...) throws OAUTH_ERROR,
 * 5xx and 429 throw NetworkError, a malformed answer INVALID_RESPONSE.
 */
export async function processDeviceCodeResponse(response: Response, options: { now: number }): Promise<PollResult> {
  assertResponse(response)
  assertNow(options?.now)
  const body = await readJsonObject(response, TOKEN_ENDPOINT)
  const { status } = response
  if (status === 200) return { kind: 'tokens', tokens: tokenSetOf(body, status, options.now) }
  const answer = oauthErrorOf(body)
  if (!answer) throw unexpectedStatus(TOKEN_ENDPOINT, status)
  // RFC 8628 says 400; some providers use other 4xx codes for the same answers.
  if (status >= 400 && status < 500) {
    switch (answer.error) {
      case 'authorization_pending':
        return { kind: 'pending' }
      case 'slow_down':
        return { kind: 'slowDown' }
      case 'access_denied':
        return { kind: 'denied', description: answer.description }
      case 'expired_token':
        return { kind: 'expired', description: answer.description }
      case 'invalid_grant':
        return { kind: 'invalidGrant', description: answer.description }
    }
  }
  throw oauthError(TOKEN_ENDPOINT, status, answer)
}
