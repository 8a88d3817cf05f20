import { describe, expect, it } from 'vitest'
import { CountersignError, ErrorCodes, NetworkError } from '../../src/errors.js'
import { processRevocationResponse, revocationRequest } from '../../src/protocol/revocation.js'
import { countersignMetadata, jsonAnswer, oauthAnswer, recordingFetch, textAnswer } from './answers.js'

describe('revocationRequest', () => {
  it('posts the token with its type hint and the client id to the revocation endpoint', async () => {
    const { fetch, requests } = recordingFetch()
    await revocationRequest(countersignMetadata, { token: 'rt-secret', tokenTypeHint: 'refresh_token', clientId: 'c' }, { fetch })
    expect(requests[0]?.url).toBe('http://127.0.0.1:4000/oauth/revoke')
    expect(Object.fromEntries(requests[0]!.form)).toEqual({ token: 'rt-secret', token_type_hint: 'refresh_token', client_id: 'c' })
  })

  it('refuses a server without a revocation endpoint with a TypeError naming it', () => {
    expect(() => revocationRequest({ ...countersignMetadata, revocationEndpoint: null }, { token: 't', clientId: 'c' })).toThrow(
      new TypeError('metadata.revocationEndpoint must be a URL (this server names no revocation endpoint)'),
    )
  })
})

describe('processRevocationResponse', () => {
  it('accepts 200 whatever its body, also empty', async () => {
    await expect(processRevocationResponse(new Response(null, { status: 200 }))).resolves.toBeUndefined()
    await expect(processRevocationResponse(textAnswer(200, 'not json', 'text/plain'))).resolves.toBeUndefined()
  })

  it('throws OAUTH_ERROR for unsupported_token_type', async () => {
    const error = await processRevocationResponse(oauthAnswer(400, 'unsupported_token_type')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({ code: ErrorCodes.OAUTH_ERROR, status: 400, oauthError: 'unsupported_token_type' })
    expect((error as Error).message).toBe('the revocation endpoint answered unsupported_token_type (400)')
  })

  it('treats 503 as a transient NetworkError', async () => {
    await expect(processRevocationResponse(jsonAnswer(503, { error: 'temporarily_unavailable' }))).rejects.toBeInstanceOf(NetworkError)
  })
})
