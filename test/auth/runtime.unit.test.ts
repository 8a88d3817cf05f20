/**
 * The runtime's wiring at the unit level: a scripted server and a simulated
 * clock, so timers can be counted and time moves only when a test moves it.
 */
import { firstValueFrom } from 'rxjs'
import { afterEach, describe, expect, it } from 'vitest'
import { AuthManager, MemoryStore, type AuthLifecycleEvent } from '../../src/index.js'
import { SimulatedClock } from '../support/simulated-clock.js'
import { fakeServer, type FakeServer } from './support/fake-server.js'

const T0 = Date.UTC(2026, 0, 1)

describe('AuthManager with a simulated clock and a scripted server', () => {
  let clock: SimulatedClock
  let server: FakeServer
  let managers: AuthManager[] = []

  afterEach(() => {
    for (const auth of managers) auth.dispose()
    managers = []
  })

  function manager(options: ConstructorParameters<typeof AuthManager>[2] = {}, store = new MemoryStore({ now: () => clock.now() })) {
    clock = clock ?? new SimulatedClock(T0)
    const auth = new AuthManager(server.baseUrl, store, { clock, fetch: server.fetch, ...options })
    managers.push(auth)
    return auth
  }

  /** Lets promise chains and due timers settle until `done()` holds. */
  async function until(done: () => boolean): Promise<void> {
    for (let i = 0; i < 100 && !done(); i++) await clock.settle()
    expect(done()).toBe(true)
  }

  function setUp(): void {
    clock = new SimulatedClock(T0)
    server = fakeServer(clock)
  }

  it('keeps an idle session as one timer, set for its refresh time, and refreshes there', async () => {
    setUp()
    const auth = manager()
    auth.setTokens(server.jwt(3600), 'rt-0')
    const first = await auth.tokenProvider()
    const refreshAt = T0 + 3600_000 - 60_000
    await until(() => clock.pendingTimers === 1)
    expect(clock.nextTimerAt).toBe(refreshAt)

    await clock.advanceTo(refreshAt - 1)
    expect(server.requests.filter((r) => r.what === 'refresh_token')).toEqual([])
    await clock.advanceTo(refreshAt)
    await until(() => auth.state === 'authenticated' && server.requests.some((r) => r.what === 'refresh_token') && clock.pendingTimers === 1)

    expect(server.requests.filter((r) => r.what === 'refresh_token').map((r) => r.at)).toEqual([refreshAt])
    expect(await auth.tokenProvider()).not.toBe(first)
    expect(clock.nextTimerAt).toBe(refreshAt + 3600_000 - 60_000)
  })

  it('retries a refresh that gets no answer with backoff, never signs out, and serves the still-valid token meanwhile', async () => {
    setUp()
    const auth = manager()
    const events: AuthLifecycleEvent[] = []
    auth.events$.subscribe((event) => events.push(event))
    auth.setTokens(server.jwt(3600), 'rt-0')
    const first = await auth.tokenProvider()
    server.refreshFaults = 2
    const refreshAt = T0 + 3600_000 - 60_000
    await clock.advanceTo(refreshAt)
    await until(() => events.some((event) => event.type === 'refreshFailed'))

    expect(auth.state).toBe('refreshing')
    expect(await auth.tokenProvider()).toBe(first)
    await clock.advanceTo(refreshAt + 10_000)
    await until(() => auth.state === 'authenticated')

    const failures = events.filter((event) => event.type === 'refreshFailed')
    expect(failures).toHaveLength(2)
    expect(failures[0]).toMatchObject({ failure: { code: 'network_error' }, retryAt: expect.any(Number) })
    expect(events.some((event) => event.type === 'sessionEnded')).toBe(false)
    expect(await auth.tokenProvider()).not.toBe(first)
  })

  it('polls every 3 s when the server names no interval, and 5 s slower for good after slow_down', async () => {
    setUp()
    server.pollAnswers = ['pending', 'slow_down', 'pending', 'approve']
    const auth = manager({ longPoll: false })
    const handle = await auth.register({ name: 'Fake Agent' })
    const waiting = handle.waitForApproval()
    await clock.advanceBy(20_000)
    await waiting
    const polls = server.requests.filter((r) => r.what === 'urn:ietf:params:oauth:grant-type:device_code')
    expect(polls.map((r) => r.at - polls[0]!.at)).toEqual([0, 3_000, 11_000, 19_000])
    expect(polls.every((r) => !r.form.has('wait'))).toBe(true)
  })

  it('long-polls when the server supports it and the option is left on auto', async () => {
    setUp()
    server.pollAnswers = ['approve']
    const auth = manager()
    const handle = await auth.register({ name: 'Fake Agent' })
    const waiting = handle.waitForApproval()
    await until(() => auth.state === 'authenticated')
    await waiting
    const polls = server.requests.filter((r) => r.what === 'urn:ietf:params:oauth:grant-type:device_code')
    expect(polls.map((r) => r.form.get('wait'))).toEqual(['25'])
  })

  it('rejects register() with the store’s own error when the request cannot be saved, and sends nothing', async () => {
    setUp()
    const store = new MemoryStore()
    store.save = () => Promise.reject(Object.assign(new Error('EACCES: permission denied, open session.json'), { code: 'EACCES' }))
    const warnings: string[] = []
    const auth = manager({ logger: { warn: (message) => warnings.push(message) } }, store)
    const registering = auth.register({ name: 'Unsaved Agent' }).catch((e: unknown) => e)
    await until(() => auth.state === 'signedOut')
    const error = await registering
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({ message: 'EACCES: permission denied, open session.json', code: 'EACCES' })
    expect(server.requests.filter((r) => r.what === '/oauth/device_authorization')).toEqual([])
    expect(warnings).toEqual(['countersign: could not save the session: Error: EACCES: permission denied, open session.json'])
  })

  it('refuses bad waitForApproval() options with a TypeError naming the option', async () => {
    setUp()
    const auth = manager()
    const handle = await auth.register({ name: 'Fake Agent' })
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ intervalMs: 0 }, 'options.intervalMs must be a positive number of milliseconds'],
      [{ timeoutMs: -1 }, 'options.timeoutMs must be a number of milliseconds ≥ 0'],
      [{ signal: {} }, 'options.signal must be an AbortSignal'],
      [{ onPollAttempt: 'log' }, 'options.onPollAttempt must be a function'],
    ]
    for (const [options, message] of bad) expect(() => handle.waitForApproval(options as never)).toThrow(new TypeError(message))
  })

  it.each([
    [60_000, 2_000],
    [2_000, 60_000],
  ])('refreshes a restored session by the skew it is reopened with (saved with %i ms, reopened with %i ms), this time and every time after', async (savedSkew, newSkew) => {
    setUp()
    const store = new MemoryStore({ now: () => clock.now() })
    const first = manager({ refreshSkewMs: savedSkew }, store)
    first.setTokens(server.jwt(600), 'rt-0')
    await first.tokenProvider()
    await until(() => clock.pendingTimers === 1)
    expect(clock.nextTimerAt).toBe(T0 + 600_000 - savedSkew)
    first.dispose()

    const reopened = manager({ refreshSkewMs: newSkew }, store)
    await reopened.tokenProvider()
    await until(() => clock.pendingTimers === 1)
    const refreshAt = T0 + 600_000 - newSkew
    expect(clock.nextTimerAt).toBe(refreshAt)
    expect((await firstValueFrom(reopened.session$)).refreshAt).toBe(refreshAt)
    await clock.advanceTo(refreshAt)
    await until(() => reopened.state === 'authenticated' && server.requests.some((r) => r.what === 'refresh_token') && clock.pendingTimers === 1)
    expect(server.requests.filter((r) => r.what === 'refresh_token').map((r) => r.at)).toEqual([refreshAt])
    // The next refresh too: the saved snapshot now carries the new skew (the server's tokens live an hour).
    expect(clock.nextTimerAt).toBe(refreshAt + 3600_000 - newSkew)
  })
})
