import { describe, expect, it } from 'vitest'
import { CountersignError, ErrorCodes, NetworkError } from '../../src/errors.js'
import { deviceAuthorizationRequest, processDeviceAuthorizationResponse } from '../../src/protocol/device-authorization.js'
import { countersignMetadata, jsonAnswer, NOW, oauthAnswer, plainMetadata, recordingFetch, textAnswer } from './answers.js'

const approvalBody = {
  device_code: 'dc-secret',
  user_code: 'WDJB-MJHT',
  verification_uri: 'http://127.0.0.1:4000/device',
  verification_uri_complete: 'http://127.0.0.1:4000/device?user_code=WDJB-MJHT',
  expires_in: 86400,
  interval: 3,
  agent_id: 'agt_1',
}

describe('deviceAuthorizationRequest', () => {
  it('registers a new agent with agent_name, agent_username, scope and the Idempotency-Key header', async () => {
    const { fetch, requests } = recordingFetch()
    const signal = new AbortController().signal
    await deviceAuthorizationRequest(
      countersignMetadata,
      { clientId: 'countersign-agent', scope: 'agent', agent: { intent: 'register', name: 'My Agent', username: 'my-agent' }, idempotencyKey: 'key-1' },
      { fetch, signal },
    )
    const [request] = requests
    expect(request?.url).toBe('http://127.0.0.1:4000/oauth/device_authorization')
    expect(request?.headers.get('idempotency-key')).toBe('key-1')
    expect(request?.signal).toBe(signal)
    expect(Object.fromEntries(request!.form)).toEqual({ client_id: 'countersign-agent', scope: 'agent', agent_name: 'My Agent', agent_username: 'my-agent' })
  })

  it('logs in an existing agent by id or by username', async () => {
    const { fetch, requests } = recordingFetch()
    await deviceAuthorizationRequest(countersignMetadata, { clientId: 'c', agent: { intent: 'login', agentId: 'agt_1' } }, { fetch })
    await deviceAuthorizationRequest(countersignMetadata, { clientId: 'c', agent: { intent: 'login', username: 'my-agent' } }, { fetch })
    expect(Object.fromEntries(requests[0]!.form)).toEqual({ client_id: 'c', agent_id: 'agt_1' })
    expect(Object.fromEntries(requests[1]!.form)).toEqual({ client_id: 'c', username: 'my-agent' })
  })

  it('sends a plain RFC 8628 request to a server that advertises no extensions', async () => {
    const { fetch, requests } = recordingFetch()
    await deviceAuthorizationRequest(
      plainMetadata,
      { clientId: 'c', scope: 'openid', agent: { intent: 'register', name: 'My Agent' }, idempotencyKey: 'key-1' },
      { fetch },
    )
    expect(Object.fromEntries(requests[0]!.form)).toEqual({ client_id: 'c', scope: 'openid' })
    expect(requests[0]?.headers.has('idempotency-key')).toBe(false)
  })

  it('refuses bad parameters with a TypeError naming the argument', () => {
    expect(() => deviceAuthorizationRequest(countersignMetadata, { clientId: '' })).toThrow(new TypeError('params.clientId must be a non-empty string'))
    expect(() => deviceAuthorizationRequest(countersignMetadata, { clientId: 'c', idempotencyKey: 'has space' })).toThrow(
      new TypeError('params.idempotencyKey must be 1-255 printable characters'),
    )
    expect(() => deviceAuthorizationRequest(countersignMetadata, { clientId: 'c', agent: { intent: 'register', name: '' } })).toThrow(
      new TypeError('params.agent.name must be a non-empty string'),
    )
  })
})

describe('processDeviceAuthorizationResponse', () => {
  const process = (response: Response) => processDeviceAuthorizationResponse(response, { now: NOW })

  it('returns the approval with an absolute expiry and the interval in milliseconds', async () => {
    await expect(process(jsonAnswer(200, approvalBody))).resolves.toEqual({
      deviceCode: 'dc-secret',
      userCode: 'WDJB-MJHT',
      verificationUri: 'http://127.0.0.1:4000/device',
      verificationUriComplete: 'http://127.0.0.1:4000/device?user_code=WDJB-MJHT',
      expiresAt: NOW + 86_400_000,
      intervalMs: 3000,
      agentId: 'agt_1',
    })
  })

  it('accepts a plain provider answer without interval, complete URI or agent id', async () => {
    const { device_code, user_code, verification_uri, expires_in } = approvalBody
    await expect(process(jsonAnswer(200, { device_code, user_code, verification_uri, expires_in }))).resolves.toMatchObject({
      verificationUriComplete: null,
      intervalMs: null,
      agentId: null,
    })
  })

  it('throws OAUTH_ERROR with the status for invalid_request (unknown agent)', async () => {
    const error = await process(oauthAnswer(400, 'invalid_request', 'no agent with that username')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({ code: ErrorCodes.OAUTH_ERROR, status: 400, oauthError: 'invalid_request' })
    expect((error as Error).message).toBe('the device authorization endpoint answered invalid_request (400): no agent with that username')
  })

  it('throws OAUTH_ERROR with status 422 for an Idempotency-Key reused with other parameters', async () => {
    const error = await process(oauthAnswer(422, 'invalid_request', 'Idempotency-Key reused with other parameters')).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCodes.OAUTH_ERROR, status: 422 })
  })

  it('treats 5xx and 429 as NetworkError', async () => {
    await expect(process(textAnswer(502, 'bad gateway', 'text/plain'))).rejects.toBeInstanceOf(NetworkError)
    await expect(process(oauthAnswer(429, 'slow_down'))).rejects.toMatchObject({ code: ErrorCodes.NETWORK_ERROR, status: 429 })
  })

  it('names each missing or wrong field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...approvalBody, device_code: undefined }, 'the device authorization endpoint answered 200 without a valid "device_code" (missing)'],
      [{ ...approvalBody, user_code: 42 }, 'the device authorization endpoint answered 200 without a valid "user_code" (expected a non-empty string)'],
      [{ ...approvalBody, verification_uri: 'not a url' }, 'the device authorization endpoint answered 200 with "verification_uri" that is not a URL'],
      [{ ...approvalBody, expires_in: 0 }, 'the device authorization endpoint answered 200 without a positive "expires_in"'],
      [{ ...approvalBody, interval: -3 }, 'the device authorization endpoint answered 200 with "interval" that is not a non-negative number of seconds'],
    ]
    for (const [body, message] of cases) {
      const error = await process(jsonAnswer(200, body)).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE, status: 200 })
      expect((error as Error).message).toBe(message)
      expect((error as Error).message).not.toContain('dc-secret')
    }
  })

  it('rejects malformed JSON and HTML answers', async () => {
    await expect(process(textAnswer(200, '{"device_code":'))).rejects.toThrow('the device authorization endpoint answered 200 with malformed JSON')
    await expect(process(textAnswer(200, '<html></html>', 'text/html'))).rejects.toMatchObject({ code: ErrorCodes.INVALID_RESPONSE })
  })
})
