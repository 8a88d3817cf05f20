/**
 * tokenProvider() on the system clock: its hot path reuses a clock reading
 * for at most 250 ms. Fake timers stand in for the system clock's globals
 * (Date, setTimeout), so the suspension of a machine can be played: the
 * wall clock jumps while timers, which run on the monotonic clock, do not.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { hotOf } from '../../src/auth/hot-token.js'
import { AuthManager } from '../../src/index.js'
import { flushJobs } from '../support/simulated-clock.js'
import { fakeServer, type FakeServer } from './support/fake-server.js'

const T0 = Date.UTC(2026, 0, 1)

describe('tokenProvider() on the system clock', () => {
  let server: FakeServer
  let auth: AuthManager

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'], now: T0 })
    server = fakeServer(Date)
    auth = new AuthManager(server.baseUrl, undefined, { fetch: server.fetch })
  })

  afterEach(async () => {
    auth.dispose()
    // The reading is shared by the process: let its timer run out here rather than be dropped with the fake timers.
    await vi.advanceTimersByTimeAsync(250)
    vi.useRealTimers()
  })

  const refreshes = () => server.requests.filter((r) => r.what === 'refresh_token').length

  /** A session whose 1 s token expired two minutes into an outage: the backoff between attempts is at its cap. */
  async function inLongOutage(): Promise<string> {
    const token = server.jwt(1)
    server.refreshFaults = 1_000
    auth.setTokens(token, 'rt-0')
    expect(await auth.tokenProvider()).toBe(token)
    await vi.advanceTimersByTimeAsync(120_000)
    return token
  }

  it('hands out the token without reading the clock while a reading less than 250 ms old serves', async () => {
    const token = server.jwt(3600)
    auth.setTokens(token, 'rt-0')
    expect(await auth.tokenProvider()).toBe(token)
    await flushJobs()

    const now = vi.spyOn(Date, 'now')
    for (let i = 0; i < 100; i++) expect(await auth.tokenProvider()).toBe(token)
    expect(now).not.toHaveBeenCalled()

    await vi.advanceTimersByTimeAsync(250)
    expect(await auth.tokenProvider()).toBe(token)
    expect(now).toHaveBeenCalled()
  })

  it('hands out a new token set at once, however recent the reading', async () => {
    auth.setTokens(server.jwt(3600), 'rt-0')
    await auth.tokenProvider()
    const next = server.jwt(7200)
    auth.setTokens(next, 'rt-1')
    expect(await auth.tokenProvider()).toBe(next)
  })

  it('asks for a refresh within 250 ms of timer time after a suspension carried the wall clock past the refresh time', async () => {
    const first = server.jwt(3600)
    auth.setTokens(first, 'rt-0')
    expect(await auth.tokenProvider()).toBe(first)
    await flushJobs()

    // Suspended for two hours: the wall clock jumps; no timer has run.
    vi.setSystemTime(T0 + 2 * 3600_000)
    expect(await auth.tokenProvider()).toBe(first)
    expect(refreshes()).toBe(0)

    await vi.advanceTimersByTimeAsync(250)
    const next = await auth.tokenProvider()
    expect(next).not.toBe(first)
    expect(refreshes()).toBe(1)
  })

  it('while its refresh is failing, serves a short-lived token as long as it lives and refuses it after', async () => {
    const token = server.jwt(1)
    server.refreshFaults = 1_000
    auth.setTokens(token, 'rt-0')
    expect(await auth.tokenProvider()).toBe(token)

    await vi.advanceTimersByTimeAsync(760)
    // Past its refresh time the precise path decides: the token still lives.
    expect(await auth.tokenProvider()).toBe(token)
    await vi.advanceTimersByTimeAsync(250)
    // Expired: it waits for the refresh being retried up to tokenWaitMs (5 s by default), then says why there is none.
    const failed = expect(auth.tokenProvider()).rejects.toMatchObject({ name: 'TokenRefreshError' })
    await vi.advanceTimersByTimeAsync(5_000)
    await failed
  })

  it('fails at once, as before, with tokenWaitMs: 0', async () => {
    const quick = new AuthManager(server.baseUrl, undefined, { fetch: server.fetch, tokenWaitMs: 0 })
    try {
      const token = server.jwt(1)
      server.refreshFaults = 1_000
      quick.setTokens(token, 'rt-0')
      expect(await quick.tokenProvider()).toBe(token)
      await vi.advanceTimersByTimeAsync(1_100)
      await expect(quick.tokenProvider()).rejects.toMatchObject({ name: 'TokenRefreshError' })
    } finally {
      quick.dispose()
    }
  })

  it('with the token expired in an outage, a caller gets a new token as soon as the server is back, not after the backoff', async () => {
    const token = await inLongOutage()
    const failedAttempts = refreshes()
    expect(failedAttempts).toBeGreaterThan(3)

    server.refreshFaults = 0
    await vi.advanceTimersByTimeAsync(1_000)
    const waiting = [auth.tokenProvider(), auth.tokenProvider(), auth.tokenProvider()]
    await vi.advanceTimersByTimeAsync(0)
    const fresh = await Promise.all(waiting)
    expect(fresh[0]).not.toBe(token)
    expect(new Set(fresh).size).toBe(1)
    // One attempt for every waiting caller: no retry storm.
    expect(refreshes()).toBe(failedAttempts + 1)
  })

  it('asks a call that comes right after a fault, with the server back, for one attempt once that fault is 1 s old, not at the end of the backoff', async () => {
    const token = await inLongOutage()
    // Just after an attempt failed, the backoff before the next is up to 30 s: far more than tokenWaitMs (5 s).
    const before = refreshes()
    while (refreshes() === before) await vi.advanceTimersByTimeAsync(10)
    const faultAt = Date.now()
    server.refreshFaults = 0
    await vi.advanceTimersByTimeAsync(200)
    let settled: unknown
    const waiting = auth.tokenProvider().then((value) => (settled = value), (error: unknown) => (settled = error))
    // faultAt is up to 10 ms after the fault (the steps above): nothing before 990 ms after it, the answer by 1 s.
    await vi.advanceTimersByTimeAsync(faultAt + 980 - Date.now())
    expect(settled).toBeUndefined()
    expect(refreshes()).toBe(before + 1)
    await vi.advanceTimersByTimeAsync(20)
    await waiting
    expect(typeof settled).toBe('string')
    expect(settled).not.toBe(token)
    expect(refreshes()).toBe(before + 2)
  })

  it('waits for the attempt already due rather than cutting a fresh backoff short', async () => {
    const token = await inLongOutage()
    const failedAttempts = refreshes()
    // Callers in a tight loop right after a fault add no attempts of their own.
    const calls = Array.from({ length: 20 }, () => auth.tokenProvider().catch((error: unknown) => error))
    await vi.advanceTimersByTimeAsync(5_000)
    const results = await Promise.all(calls)
    expect(results.every((result) => result instanceof Error)).toBe(true)
    expect(refreshes()).toBeLessThanOrEqual(failedAttempts + 1)
  })
})

describe('hotOf', () => {
  const tokens = (obtainedAt: number, accessExpiresAt: number | null) => ({ accessToken: 'a', refreshToken: 'r', obtainedAt, accessExpiresAt, refreshExpiresAt: null, agentId: null, scope: null, tokenType: 'Bearer' })

  it('is hot until the refresh time', () => {
    expect(hotOf(tokens(0, 3_600_000), 60_000).until).toBe(3_540_000)
  })

  it('stops 250 ms before expiry when the refresh time is closer to it than that', () => {
    expect(hotOf(tokens(0, 400), 60_000).until).toBe(150)
  })

  it('is hot for good when the server named no expiry', () => {
    expect(hotOf(tokens(0, null), 60_000).until).toBe(Number.POSITIVE_INFINITY)
  })
})
