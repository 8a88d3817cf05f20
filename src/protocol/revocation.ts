/**
 * Token revocation (RFC 7009, protocol §4.2). The server answers 200 also for
 * unknown tokens, so revoking is safe to repeat.
 */
import { assertArgument } from '../errors.js'
import { assertResponse, oauthError, oauthErrorOf, postForm, unexpectedStatus, readJsonObject } from './http.js'
import type { RequestOptions, ServerMetadata, TokenTypeHint } from './types.js'

const WHAT = 'revocation endpoint'

export interface RevocationParams {
  token: string
  clientId: string
  tokenTypeHint?: TokenTypeHint
}

/** POSTs one revocation request. The server must name a revocation endpoint in its metadata. */
export function revocationRequest(metadata: ServerMetadata, params: RevocationParams, options: RequestOptions = {}): Promise<Response> {
  assertArgument(typeof metadata?.revocationEndpoint === 'string', 'metadata.revocationEndpoint', 'a URL (this server names no revocation endpoint)')
  assertArgument(typeof params?.token === 'string' && params.token.length > 0, 'params.token', 'a non-empty string')
  assertArgument(typeof params.clientId === 'string' && params.clientId.length > 0, 'params.clientId', 'a non-empty string')
  const hint = params.tokenTypeHint
  assertArgument(hint === undefined || hint === 'access_token' || hint === 'refresh_token', 'params.tokenTypeHint', '"access_token" or "refresh_token" when given')
  return postForm(metadata.revocationEndpoint, { token: params.token, token_type_hint: hint, client_id: params.clientId }, WHAT, options)
}

/** Resolves when the token is revoked (200, whatever the body); OAuth errors throw OAUTH_ERROR, 5xx NetworkError. */
export async function processRevocationResponse(response: Response): Promise<void> {
  assertResponse(response)
  if (response.status === 200) {
    // RFC 7009 §2.2: the content of a 200 is ignored.
    response.body?.cancel().catch(() => {})
    return
  }
  const body = await readJsonObject(response, WHAT)
  const answer = oauthErrorOf(body)
  throw answer ? oauthError(WHAT, response.status, answer) : unexpectedStatus(WHAT, response.status)
}
