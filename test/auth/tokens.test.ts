/**
 * Keeping tokens alive, in process, against the real server: tokenProvider
 * (one refresh for a thousand callers), forceRefresh, setTokens, revoke, and
 * a session the server ends.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuthManager, MemoryStore, TokenRefreshError, type AuthLifecycleEvent } from '../../src/index.js'
import { postForm } from '../support/server.js'
import { ShiftedClock } from './support/clock.js'
import { startBed, type Bed } from './support/bed.js'
import { isRefreshGrant } from './support/proxy.js'

describe('AuthManager: tokens', () => {
  let bed: Bed
  let managers: AuthManager[]

  beforeEach(async () => {
    // An hour-long access token: nothing refreshes unless a test makes it.
    bed = await startBed({ interval: 1, accessTtl: 3600, refreshGrace: 30 })
    managers = []
  })

  afterEach(async () => {
    for (const auth of managers) auth.dispose()
    await bed.dispose()
  })

  const manager = (options: ConstructorParameters<typeof AuthManager>[2] = {}, store = new MemoryStore()) => {
    const auth = new AuthManager(bed.url, store, options)
    managers.push(auth)
    return auth
  }

  async function signedIn(auth: AuthManager): Promise<void> {
    const handle = await auth.register({ name: 'Token Agent' })
    const waiting = handle.waitForApproval()
    await bed.owner.approve(handle.userCode)
    await waiting
  }

  const me = (token: string) => fetch(`${bed.url}/api/agent/me`, { headers: { authorization: `Bearer ${token}` } })

  it('answers 1,000 concurrent calls on an expiring token with one refresh at the server', async () => {
    const clock = new ShiftedClock()
    const auth = manager({ clock })
    await signedIn(auth)
    const old = await auth.tokenProvider()
    const before = (await bed.data()).refreshTokens.length

    clock.shiftMs = 3600_000 - 30_000 // 30 s before expiry: inside the 60 s skew
    const tokenProvider = auth.tokenProvider
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => tokenProvider()))

    expect(new Set(tokens).size).toBe(1)
    expect(tokens[0]).not.toBe(old)
    expect(bed.proxy.count(isRefreshGrant)).toBe(1)
    const data = await bed.data()
    expect(data.refreshTokens).toHaveLength(before + 1)
    expect(data.refreshTokens.filter((token) => token.rotatedAt !== null)).toHaveLength(1)
    expect((await me(tokens[0]!)).status).toBe(200)
  })

  it('hands out the cached token without asking anyone while it is valid', async () => {
    const auth = manager()
    await signedIn(auth)
    const requests = bed.proxy.requests.length
    const tokens = await Promise.all(Array.from({ length: 100 }, () => auth.tokenProvider()))
    expect(new Set(tokens).size).toBe(1)
    expect(bed.proxy.requests.length).toBe(requests)
  })

  it('gives the current token as { token, expiresIn } and as an Authorization header', async () => {
    const auth = manager()
    await signedIn(auth)
    const token = await auth.tokenProvider()
    const { token: given, expiresIn } = await auth.getAuthToken()
    expect(given).toBe(token)
    expect(expiresIn).toBeGreaterThan(3590)
    expect(expiresIn).toBeLessThanOrEqual(3600)
    expect(await auth.getAuthHeader()).toBe(`Bearer ${token}`)
  })

  it('forceRefresh() rotates the tokens, saves them before handing them out, and the new token works', async () => {
    const store = new MemoryStore()
    const auth = manager({}, store)
    await signedIn(auth)
    const old = await auth.tokenProvider()
    const events: AuthLifecycleEvent[] = []
    auth.events$.subscribe((event) => events.push(event))

    await auth.forceRefresh()
    const fresh = await auth.tokenProvider()
    expect(fresh).not.toBe(old)
    expect((await store.load())?.accessToken).toBe(fresh)
    expect((await me(fresh)).status).toBe(200)
    await new Promise((resolve) => setImmediate(resolve))
    expect(events.map((event) => event.type)).toContain('refreshed')
  })

  it('setTokens() signs in with tokens saved elsewhere, reading when to refresh from the token itself', async () => {
    const saved = new MemoryStore()
    const first = manager({}, saved)
    await signedIn(first)
    const { accessToken: access, refreshToken: refresh } = (await saved.load())!
    first.dispose()

    const second = manager()
    second.setTokens(access!, refresh)
    expect(await second.tokenProvider()).toBe(access)
    expect(second.state).toBe('authenticated')
    expect(second.agentId).toMatch(/^agt_/)
    let session: { accessExpiresAt: number | null; refreshAt: number | null } | undefined
    second.session$.subscribe((value) => (session = value))
    await new Promise((resolve) => setImmediate(resolve))
    const exp = (JSON.parse(Buffer.from(access!.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000
    expect(session).toMatchObject({ accessExpiresAt: exp, refreshAt: exp - 60_000 })

    await second.forceRefresh()
    expect(await second.tokenProvider()).not.toBe(access)
  })

  it('revoke() revokes at the server and clears the store; tokenProvider() then throws TokenRefreshError', async () => {
    const store = new MemoryStore()
    const auth = manager({}, store)
    await signedIn(auth)
    const access = await auth.tokenProvider()
    const refresh = (await store.load())!.refreshToken!
    const events: AuthLifecycleEvent[] = []
    auth.events$.subscribe((event) => events.push(event))

    await auth.revoke()

    expect(auth.state).toBe('signedOut')
    expect(await store.load()).toBeNull()
    expect((await me(access)).status).toBe(401)
    const refused = await postForm(`${bed.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: refresh, client_id: 'countersign-agent' })
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    const error = await auth.tokenProvider().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TokenRefreshError)
    expect(error).toMatchObject({
      name: 'TokenRefreshError',
      code: 'not_authenticated',
      message: 'not authenticated; register(), login(), setTokens() or resume() first',
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(events).toContainEqual(expect.objectContaining({ type: 'revoked', confirmed: true }))
  })

  it('ends the session once when the server refuses the refresh token, and says so through TokenRefreshError', async () => {
    const auth = manager()
    await signedIn(auth)
    const events: AuthLifecycleEvent[] = []
    auth.events$.subscribe((event) => events.push(event))
    await bed.owner.revokeAgent(auth.agentId!)

    const error = await auth.forceRefresh().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TokenRefreshError)
    expect(error).toMatchObject({ code: 'token_refresh_failed', status: 400, oauthError: 'invalid_grant' })
    expect((error as Error).message).toMatch(/^the token endpoint answered invalid_grant \(400\)/)
    expect(auth.state).toBe('signedOut')
    await expect(auth.tokenProvider()).rejects.toMatchObject({ name: 'TokenRefreshError', code: 'token_refresh_failed', oauthError: 'invalid_grant' })
    await new Promise((resolve) => setImmediate(resolve))
    expect(events.filter((event) => event.type === 'sessionEnded')).toHaveLength(1)
    expect(bed.proxy.count(isRefreshGrant)).toBe(1)
  })

  it('rejects forceRefresh() with TokenRefreshError when not signed in', async () => {
    const auth = manager()
    await expect(auth.forceRefresh()).rejects.toMatchObject({ name: 'TokenRefreshError', code: 'not_authenticated' })
  })
})
