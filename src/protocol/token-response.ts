/**
 * The successful token answer (RFC 6749 §5.1, protocol §4), shared by the
 * device-code and refresh grants.
 */
import { invalidResponse, optionalSeconds, optionalString, requiredString, type JsonObject } from './http.js'
import type { TokenSet } from './types.js'

export const TOKEN_ENDPOINT = 'token endpoint'

export function tokenSetOf(body: JsonObject, status: number, now: number): TokenSet {
  const accessToken = requiredString(body, 'access_token', TOKEN_ENDPOINT, status)
  const tokenType = requiredString(body, 'token_type', TOKEN_ENDPOINT, status)
  // Only bearer tokens can be sent the way our clients send them; a DPoP or MAC token would fail later, confusingly.
  if (tokenType.toLowerCase() !== 'bearer') {
    throw invalidResponse(TOKEN_ENDPOINT, `${status} with token_type "${tokenType.slice(0, 40)}"; only Bearer is supported`, status)
  }
  const expiresIn = optionalSeconds(body, 'expires_in', TOKEN_ENDPOINT, status)
  const refreshToken = optionalString(body, 'refresh_token', TOKEN_ENDPOINT, status)
  if (refreshToken === '') throw invalidResponse(TOKEN_ENDPOINT, `${status} with an empty "refresh_token"`, status)
  const refreshExpiresIn = optionalSeconds(body, 'refresh_token_expires_in', TOKEN_ENDPOINT, status)
  return {
    accessToken,
    tokenType: 'Bearer',
    accessExpiresAt: expiresIn === null ? null : now + Math.round(expiresIn * 1000),
    refreshToken,
    refreshExpiresAt: refreshToken === null || refreshExpiresIn === null ? null : now + Math.round(refreshExpiresIn * 1000),
    scope: optionalString(body, 'scope', TOKEN_ENDPOINT, status),
    agentId: optionalString(body, 'agent_id', TOKEN_ENDPOINT, status),
    obtainedAt: now,
  }
}

export function assertNow(now: unknown): asserts now is number {
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError('options.now must be a finite number (epoch milliseconds)')
}
