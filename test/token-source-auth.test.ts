import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuthManager } from '../src/index.js'
import { TokenGate, authenticatorFor, getAuthHeaderOf, getAuthTokenOf, tokenSourceOf } from '../src/token-source.js'
import { signedInManager, startLiveServer, type LiveServer } from './live/support.js'

describe('token sources of a real AuthManager', () => {
  let server: LiveServer
  let auth: AuthManager
  beforeAll(async () => {
    server = await startLiveServer({ accessTtl: 900 })
    auth = await signedInManager(server)
  })
  afterAll(async () => {
    auth.dispose()
    await server.dispose()
  })

  it('offers the manager as an authenticator: its current token, expiresIn from the token, and the Bearer header', async () => {
    const token = await auth.tokenProvider()
    const answer = await authenticatorFor(auth).getAuthToken()
    expect(answer.token).toBe(token)
    expect(answer.expiresIn).toBeGreaterThan(890)
    expect(answer.expiresIn).toBeLessThanOrEqual(900)
    expect(await getAuthTokenOf(auth)).toEqual({ token, expiresIn: expect.any(Number) })
    expect(await getAuthHeaderOf(auth)).toBe(`Bearer ${token}`)
  })

  it('after a refusal for expiry of a token the manager has replaced since, gives the new token without a refresh grant', async () => {
    const source = tokenSourceOf(auth)
    const gate = new TokenGate(source)
    const takenAt = gate.generation
    const old = await source()
    await auth.forceRefresh()
    const requests = server.tokenRequests
    const answer = await gate.afterRefusal(old, takenAt, 'expired')
    expect(answer).not.toBe(old)
    expect(answer).toBe(await auth.tokenProvider())
    expect(server.tokenRequests).toBe(requests)
  })

  it('as a token source, "unauthorized" makes one refresh grant and gives the new token', async () => {
    const source = tokenSourceOf(auth)
    const before = await source()
    const requests = server.tokenRequests
    const after = await source('unauthorized')
    expect(after).not.toBe(before)
    expect(await auth.tokenProvider()).toBe(after)
    expect(server.tokenRequests - requests).toBe(1)
  })
})
