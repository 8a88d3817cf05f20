/**
 * Refresh with rotation (protocol §4.1). A successful answer is a new token
 * set; whether a missing refresh token means "keep the old one" is the
 * caller's decision (a plain provider may not rotate). Any OAuth error answer
 * — invalid_grant above all — is TokenRefreshError: the refresh token is no
 * good and a new login is needed. 5xx, 429 and no answer are NetworkError.
 */
import { assertArgument, TokenRefreshError } from '../errors.js'
import { assertResponse, describeOAuthError, oauthErrorOf, postForm, readJsonObject, unexpectedStatus } from './http.js'
import { assertNow, TOKEN_ENDPOINT, tokenSetOf } from './token-response.js'
import type { RequestOptions, ServerMetadata, TokenSet } from './types.js'

export interface RefreshTokenGrantParams {
  refreshToken: string
  clientId: string
  /** A subset of the granted scopes; the granted ones when absent. */
  scope?: string
}

/** POSTs the refresh token grant request. */
export function refreshTokenGrantRequest(metadata: ServerMetadata, params: RefreshTokenGrantParams, options: RequestOptions = {}): Promise<Response> {
  assertArgument(typeof params?.refreshToken === 'string' && params.refreshToken.length > 0, 'params.refreshToken', 'a non-empty string')
  assertArgument(typeof params.clientId === 'string' && params.clientId.length > 0, 'params.clientId', 'a non-empty string')
  assertArgument(params.scope === undefined || typeof params.scope === 'string', 'params.scope', 'a string when given')
  return postForm(
    metadata.tokenEndpoint,
    { grant_type: 'refresh_token', refresh_token: params.refreshToken, client_id: params.clientId, scope: params.scope },
    TOKEN_ENDPOINT,
    options,
  )
}

export async function processRefreshTokenResponse(response: Response, options: { now: number }): Promise<TokenSet> {
  assertResponse(response)
  assertNow(options?.now)
  const body = await readJsonObject(response, TOKEN_ENDPOINT)
  const { status } = response
  if (status === 200) return tokenSetOf(body, status, options.now)
  const answer = oauthErrorOf(body)
  if (!answer) throw unexpectedStatus(TOKEN_ENDPOINT, status)
  throw new TokenRefreshError(describeOAuthError(TOKEN_ENDPOINT, status, answer), { status, oauthError: answer.error })
}
