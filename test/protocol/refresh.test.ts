import { describe, expect, it } from 'vitest'
import { ErrorCodes, NetworkError, TokenRefreshError } from '../../src/errors.js'
import { processRefreshTokenResponse, refreshTokenGrantRequest } from '../../src/protocol/refresh.js'
import { countersignMetadata, jsonAnswer, NOW, oauthAnswer, recordingFetch, textAnswer } from './answers.js'

describe('refreshTokenGrantRequest', () => {
  it('posts grant_type=refresh_token with the token, client id and an optional scope', async () => {
    const { fetch, requests } = recordingFetch()
    const signal = new AbortController().signal
    await refreshTokenGrantRequest(countersignMetadata, { refreshToken: 'rt-secret', clientId: 'c', scope: 'agent' }, { fetch, signal })
    expect(requests[0]?.url).toBe('http://127.0.0.1:4000/oauth/token')
    expect(Object.fromEntries(requests[0]!.form)).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt-secret', client_id: 'c', scope: 'agent' })
    expect(requests[0]?.signal).toBe(signal)
  })

  it('refuses a missing refresh token with a TypeError naming the argument', () => {
    expect(() => refreshTokenGrantRequest(countersignMetadata, { refreshToken: '', clientId: 'c' })).toThrow(
      new TypeError('params.refreshToken must be a non-empty string'),
    )
  })
})

describe('processRefreshTokenResponse', () => {
  const process = (response: Response) => processRefreshTokenResponse(response, { now: NOW })

  it('returns the rotated token set with absolute expiry times', async () => {
    const body = { access_token: 'at2', token_type: 'Bearer', expires_in: 60, refresh_token: 'rt2', refresh_token_expires_in: 120, agent_id: 'agt_1' }
    await expect(process(jsonAnswer(200, body))).resolves.toEqual({
      accessToken: 'at2',
      tokenType: 'Bearer',
      accessExpiresAt: NOW + 60_000,
      refreshToken: 'rt2',
      refreshExpiresAt: NOW + 120_000,
      scope: null,
      agentId: 'agt_1',
      obtainedAt: NOW,
    })
  })

  it('returns a null refresh token when a provider does not rotate it', async () => {
    await expect(process(jsonAnswer(200, { access_token: 'at2', token_type: 'Bearer', expires_in: '60' }))).resolves.toMatchObject({
      refreshToken: null,
      accessExpiresAt: NOW + 60_000,
    })
  })

  it('throws TokenRefreshError carrying invalid_grant and 400 for a reused, expired or revoked refresh token', async () => {
    const error = await process(oauthAnswer(400, 'invalid_grant', 'refresh token reuse detected')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TokenRefreshError)
    expect(error).toMatchObject({ code: ErrorCodes.TOKEN_REFRESH_FAILED, status: 400, oauthError: 'invalid_grant' })
    expect((error as Error).message).toBe('the token endpoint answered invalid_grant (400): refresh token reuse detected')
  })

  it('throws TokenRefreshError for other OAuth answers such as invalid_scope', async () => {
    await expect(process(oauthAnswer(400, 'invalid_scope'))).rejects.toMatchObject({
      name: 'TokenRefreshError',
      code: ErrorCodes.TOKEN_REFRESH_FAILED,
      oauthError: 'invalid_scope',
    })
  })

  it('treats 500 as a transient NetworkError', async () => {
    const error = await process(textAnswer(500, 'oops', 'text/plain')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect(error).toMatchObject({ code: ErrorCodes.NETWORK_ERROR, status: 500 })
  })

  it('rejects malformed and non-JSON answers as INVALID_RESPONSE', async () => {
    await expect(process(textAnswer(200, 'access_token=at2'))).rejects.toMatchObject({ code: ErrorCodes.INVALID_RESPONSE })
    await expect(process(textAnswer(200, '{}', 'text/plain'))).rejects.toMatchObject({ code: ErrorCodes.INVALID_RESPONSE })
    const error = await process(jsonAnswer(200, { access_token: 'at2', token_type: 'Bearer', refresh_token: 7 })).catch((e: unknown) => e)
    expect((error as Error).message).toBe('the token endpoint answered 200 with "refresh_token" that is not a string')
  })
})
