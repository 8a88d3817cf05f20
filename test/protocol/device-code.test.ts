import { describe, expect, it } from 'vitest'
import { CountersignError, ErrorCodes, NetworkError } from '../../src/errors.js'
import { deviceCodeGrantRequest, processDeviceCodeResponse } from '../../src/protocol/device-code.js'
import { countersignMetadata, jsonAnswer, NOW, oauthAnswer, plainMetadata, recordingFetch, textAnswer } from './answers.js'

const DEVICE_CODE = 'dc-secret-0123456789abcdef'
const tokenBody = {
  access_token: 'at-secret',
  token_type: 'Bearer',
  expires_in: 3600,
  refresh_token: 'rt-secret',
  refresh_token_expires_in: 2592000,
  scope: 'agent',
  agent_id: 'agt_1',
}

describe('deviceCodeGrantRequest', () => {
  it('posts the device-code grant as a form with the client id to the token endpoint', async () => {
    const { fetch, requests } = recordingFetch()
    const controller = new AbortController()
    await deviceCodeGrantRequest(countersignMetadata, { deviceCode: DEVICE_CODE, clientId: 'countersign-agent' }, { fetch, signal: controller.signal })
    const [request] = requests
    expect(request?.url).toBe('http://127.0.0.1:4000/oauth/token')
    expect(request?.method).toBe('POST')
    expect(request?.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/)
    expect(Object.fromEntries(request!.form)).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: DEVICE_CODE,
      client_id: 'countersign-agent',
    })
    expect(request?.signal).toBe(controller.signal)
  })

  it('adds wait=N only when the server supports long-polling', async () => {
    const { fetch, requests } = recordingFetch()
    await deviceCodeGrantRequest(countersignMetadata, { deviceCode: DEVICE_CODE, clientId: 'c', waitSeconds: 20 }, { fetch })
    await deviceCodeGrantRequest(plainMetadata, { deviceCode: DEVICE_CODE, clientId: 'c', waitSeconds: 20 }, { fetch })
    expect(requests[0]?.form.get('wait')).toBe('20')
    expect(requests[1]?.form.has('wait')).toBe(false)
  })

  it('refuses a wait outside 1-30 seconds with a TypeError naming the argument', () => {
    expect(() => deviceCodeGrantRequest(countersignMetadata, { deviceCode: DEVICE_CODE, clientId: 'c', waitSeconds: 31 })).toThrow(
      new TypeError('params.waitSeconds must be an integer from 1 to 30'),
    )
    expect(() => deviceCodeGrantRequest(countersignMetadata, { deviceCode: '', clientId: 'c' })).toThrow(
      new TypeError('params.deviceCode must be a non-empty string'),
    )
  })
})

describe('processDeviceCodeResponse', () => {
  const process = (response: Response) => processDeviceCodeResponse(response, { now: NOW })

  it('reads 400 authorization_pending as pending', async () => {
    await expect(process(oauthAnswer(400, 'authorization_pending'))).resolves.toEqual({ kind: 'pending' })
  })

  it('reads 400 slow_down as slowDown', async () => {
    await expect(process(oauthAnswer(400, 'slow_down'))).resolves.toEqual({ kind: 'slowDown' })
  })

  it('reads 400 access_denied as denied, keeping the description', async () => {
    await expect(process(oauthAnswer(400, 'access_denied', 'the owner said no'))).resolves.toEqual({ kind: 'denied', description: 'the owner said no' })
  })

  it('reads 400 expired_token as expired', async () => {
    await expect(process(oauthAnswer(400, 'expired_token'))).resolves.toEqual({ kind: 'expired', description: null })
  })

  it('reads 400 invalid_grant as invalidGrant', async () => {
    await expect(process(oauthAnswer(400, 'invalid_grant', 'device code already used'))).resolves.toEqual({
      kind: 'invalidGrant',
      description: 'device code already used',
    })
  })

  it('reads a 200 token response as tokens with absolute expiry times', async () => {
    await expect(process(jsonAnswer(200, tokenBody))).resolves.toEqual({
      kind: 'tokens',
      tokens: {
        accessToken: 'at-secret',
        tokenType: 'Bearer',
        accessExpiresAt: NOW + 3_600_000,
        refreshToken: 'rt-secret',
        refreshExpiresAt: NOW + 2_592_000_000,
        scope: 'agent',
        agentId: 'agt_1',
        obtainedAt: NOW,
      },
    })
  })

  it('accepts a token response without expires_in, refresh token or agent id (a plain provider)', async () => {
    const result = await process(jsonAnswer(200, { access_token: 'at', token_type: 'bearer' }))
    expect(result).toEqual({
      kind: 'tokens',
      tokens: { accessToken: 'at', tokenType: 'Bearer', accessExpiresAt: null, refreshToken: null, refreshExpiresAt: null, scope: null, agentId: null, obtainedAt: NOW },
    })
  })

  it('throws OAUTH_ERROR with status and error for an OAuth error outside the polling table', async () => {
    const error = await process(oauthAnswer(401, 'invalid_client', 'unknown client')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({ code: ErrorCodes.OAUTH_ERROR, status: 401, oauthError: 'invalid_client' })
    expect((error as Error).message).toBe('the token endpoint answered invalid_client (401): unknown client')
  })

  it('treats a 5xx as a transient NetworkError, never as an answer', async () => {
    const error = await process(oauthAnswer(503, 'temporarily_unavailable')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect(error).toMatchObject({ code: ErrorCodes.NETWORK_ERROR, status: 503 })
    expect((error as Error).message).toBe('the token endpoint answered 503; try again later')
  })

  it('treats 429 as a transient NetworkError that names Retry-After', async () => {
    const error = await process(jsonAnswer(429, { error: 'rate_limited' }, { 'retry-after': '7' })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect(error).toMatchObject({ code: ErrorCodes.NETWORK_ERROR, status: 429 })
    expect((error as Error).message).toBe('the token endpoint answered 429 (too many requests); try again after 7 s')
  })

  it('rejects malformed JSON without quoting the body', async () => {
    const error = await process(textAnswer(200, '{"access_token":"at-secret",')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE, status: 200 })
    expect((error as Error).message).toBe('the token endpoint answered 200 with malformed JSON')
    expect((error as Error).cause).toBeUndefined()
  })

  it('rejects an answer that is not JSON, naming its content type', async () => {
    const error = await process(textAnswer(200, '<html>login</html>', 'text/html')).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE, status: 200 })
    expect((error as Error).message).toBe('the token endpoint answered 200 with content type "text/html", not JSON')
  })

  it('rejects JSON that is not an object', async () => {
    const error = await process(textAnswer(200, '["at-secret"]')).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE })
    expect((error as Error).message).toBe('the token endpoint answered 200 with JSON that is not an object')
  })

  it('rejects a 4xx without an OAuth error field', async () => {
    const error = await process(jsonAnswer(404, { message: 'not found' })).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE, status: 404 })
    expect((error as Error).message).toBe('the token endpoint answered 404 without an OAuth error')
  })

  it('names the missing field of a token response', async () => {
    const error = await process(jsonAnswer(200, { token_type: 'Bearer' })).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE })
    expect((error as Error).message).toBe('the token endpoint answered 200 without a valid "access_token" (missing)')
  })

  it('refuses a token type other than Bearer without naming the token', async () => {
    const error = await process(jsonAnswer(200, { ...tokenBody, token_type: 'DPoP' })).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE })
    expect((error as Error).message).toBe('the token endpoint answered 200 with token_type "DPoP"; only Bearer is supported')
    expect((error as Error).message).not.toContain('at-secret')
  })

  it('refuses a negative or non-numeric expires_in', async () => {
    for (const expires_in of [-1, 'soon', {}]) {
      const error = await process(jsonAnswer(200, { ...tokenBody, expires_in })).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE })
      expect((error as Error).message).toBe('the token endpoint answered 200 with "expires_in" that is not a non-negative number of seconds')
    }
  })

  it('refuses a call without a Response or a clock reading', async () => {
    await expect(processDeviceCodeResponse({} as Response, { now: NOW })).rejects.toThrow(new TypeError('response must be a Response'))
    await expect(processDeviceCodeResponse(oauthAnswer(400, 'slow_down'), { now: Number.NaN })).rejects.toThrow(
      new TypeError('options.now must be a finite number (epoch milliseconds)'),
    )
  })
})
