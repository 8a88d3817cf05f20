import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID, DEVICE_CODE_GRANT, expectOAuthError, pollToken, sleep, startProtocolServer, startRegistration, type Answer, type ProtocolServer } from './protocol-support.js'

/**
 * A long-poll's answer, or 'still waiting' when `ms` pass first. Used only to
 * keep a failing test from hanging for the whole `wait`; timings are checked
 * with track()'s settledAt.
 */
function within(poll: Promise<Answer>, ms: number): Promise<Answer | 'still waiting'> {
  return Promise.race([poll, sleep(ms).then(() => 'still waiting' as const)])
}

/** Tracks whether and when (performance.now()) a promise settled, to check that the server is holding a request and when it let go. */
function track<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean; settledAt: () => number | undefined } {
  let settledAt: number | undefined
  const settle = () => (settledAt = performance.now())
  promise.then(settle, settle)
  return { promise, settled: () => settledAt !== undefined, settledAt: () => settledAt }
}

/**
 * How long after the decision's own answer the held poll was answered. The
 * wait is 30 s: well under a second shows the poll woke on the decision,
 * within about one round trip, instead of at the end of its wait.
 */
const WAKE_BOUND_MS = 1000

describe('protocol §3.2: long-poll', () => {
  let server: ProtocolServer
  let url: string

  beforeAll(async () => {
    // Real time: holding a request is what is tested. The interval is the default 3 s.
    server = await startProtocolServer({}, { realClock: true })
    url = server.url
  })
  afterAll(() => server.dispose())

  it('holds a request with wait=N until N seconds pass, then answers authorization_pending', async () => {
    const started = await startRegistration(url)
    const sentAt = performance.now()
    const answer = await pollToken(url, started.device_code, { wait: '1' })
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(950)
    expectOAuthError(answer, 400, 'authorization_pending', /not been decided/)
  })

  it('answers a held request with tokens as soon as the owner approves: within about a round trip of the approval, not at the end of the wait', async () => {
    const started = await startRegistration(url)
    const poll = track(pollToken(url, started.device_code, { wait: '30' }))
    await sleep(300)
    // Not answered yet: the server is holding it.
    expect(poll.settled()).toBe(false)
    await server.approve(started.user_code)
    const approvedAt = performance.now()
    const answer = await within(poll.promise, 15_000)
    expect(answer).not.toBe('still waiting')
    expect(poll.settledAt()! - approvedAt).toBeLessThan(WAKE_BOUND_MS)
    expect((answer as Answer).status).toBe(200)
    expect((answer as Answer).body.agent_id).toBe(started.agent_id)
  })

  it('answers a held request with access_denied as soon as the owner denies, within about a round trip', async () => {
    const started = await startRegistration(url)
    const poll = track(pollToken(url, started.device_code, { wait: '30' }))
    await sleep(300)
    expect(poll.settled()).toBe(false)
    await server.deny(started.user_code)
    const deniedAt = performance.now()
    const answer = await within(poll.promise, 15_000)
    expect(answer).not.toBe('still waiting')
    expect(poll.settledAt()! - deniedAt).toBeLessThan(WAKE_BOUND_MS)
    expectOAuthError(answer as Answer, 400, 'access_denied', /denied/)
  })

  it('answers at once when the request was decided before the long-poll came', async () => {
    const started = await startRegistration(url)
    await server.approve(started.user_code)
    const answer = await within(pollToken(url, started.device_code, { wait: '30' }), 15_000)
    expect(answer).not.toBe('still waiting')
    expect((answer as Answer).status).toBe(200)
  })

  it('never answers slow_down to one outstanding long-poll, even right after another poll', async () => {
    const started = await startRegistration(url)
    // A plain poll, then long-polls back to back: each comes sooner than the 3 s interval after the one before.
    expectOAuthError(await pollToken(url, started.device_code), 400, 'authorization_pending', /not been decided/)
    for (let i = 0; i < 3; i++) {
      expectOAuthError(await pollToken(url, started.device_code, { wait: '1' }), 400, 'authorization_pending', /not been decided/)
    }
  })

  it('answers a second long-poll on the same code at once as a plain poll while the first is held', async () => {
    const started = await startRegistration(url)
    const first = track(pollToken(url, started.device_code, { wait: '3' }))
    await sleep(500)
    const second = await pollToken(url, started.device_code, { wait: '3' })
    expect(first.settled()).toBe(false)
    expectOAuthError(second, 400, 'authorization_pending', /not been decided/)
    expectOAuthError(await first.promise, 400, 'authorization_pending', /not been decided/)
  })

  it('stops holding a long-poll whose client went away, so the next one is held again', async () => {
    const started = await startRegistration(url)
    const gone = new AbortController()
    const abandoned = fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CLIENT_ID, grant_type: DEVICE_CODE_GRANT, device_code: started.device_code, wait: '30' }),
      signal: gone.signal,
    })
    await sleep(200)
    gone.abort()
    await expect(abandoned).rejects.toThrow()
    await sleep(100)
    // Were the abandoned waiter still registered, this one would be a second long-poll, answered at once.
    const sentAt = performance.now()
    expectOAuthError(await pollToken(url, started.device_code, { wait: '1' }), 400, 'authorization_pending', /not been decided/)
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(950)
  })

  /** Registers on a server whose approvals live 1 s, long-polls it with `wait`, and expects expired_token within `ms`. */
  async function expectHeldUntilExpired(clock: { realClock: boolean }, wait: string, ms: number): Promise<void> {
    const server = await startProtocolServer({ approvalTtl: 1 }, clock)
    try {
      const started = await startRegistration(server.url)
      const answer = await within(pollToken(server.url, started.device_code, { wait }), ms)
      expect(answer).not.toBe('still waiting')
      expectOAuthError(answer as Answer, 400, 'expired_token', /expired/)
    } finally {
      await server.dispose()
    }
  }

  it('holds a long-poll no longer than the approval lives, then answers expired_token', async () => {
    await expectHeldUntilExpired({ realClock: true }, '30', 15_000)
  })

  it('answers expired_token to a long-poll held to the approval\'s expiry even when the clock reads a moment short of it as the wait ends', async () => {
    // The clock stands still: when the held poll's time runs out, it still reads the moment the poll began.
    await expectHeldUntilExpired({ realClock: false }, '5', 10_000)
  })

  it('lets close() end a held long-poll instead of waiting for it', async () => {
    const closing = await startProtocolServer({}, { realClock: true })
    const started = await startRegistration(closing.url)
    const poll = track(pollToken(closing.url, started.device_code, { wait: '30' }).catch((error: unknown) => error))
    await sleep(200)
    expect(poll.settled()).toBe(false)
    const stopped = await Promise.race([closing.dispose().then(() => 'closed'), sleep(15_000).then(() => 'still open')])
    expect(stopped).toBe('closed')
    expect(await within(poll.promise as Promise<Answer>, 5_000)).not.toBe('still waiting')
  })

  it.each([['0'], ['31'], ['-1'], ['1.5'], ['ten'], ['1e1'], ['100']])('answers 400 invalid_request for wait=%s', async (wait) => {
    const started = await startRegistration(url)
    expectOAuthError(await pollToken(url, started.device_code, { wait }), 400, 'invalid_request', /^wait must be a whole number of seconds from 1 to 30$/)
  })

  it('answers 400 invalid_request for a repeated wait parameter', async () => {
    const started = await startRegistration(url)
    const response = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `${new URLSearchParams({ client_id: CLIENT_ID, grant_type: DEVICE_CODE_GRANT, device_code: started.device_code })}&wait=1&wait=2`,
    })
    expectOAuthError({ status: response.status, body: await response.json() }, 400, 'invalid_request', /^the parameter wait must not be repeated$/)
  })
})
