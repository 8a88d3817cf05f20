/**
 * The manager's streams against the real server: what they carry (and what
 * they never carry), when values arrive, and subscribers that throw.
 */
import { describe, expect, it } from 'vitest'
import { AuthManager, MemoryStore, type AccessToken, type AuthLifecycleEvent, type Session } from '../../src/index.js'
import { ShiftedClock } from './support/clock.js'
import { bedPerTest } from './support/bed.js'

const turn = () => new Promise((resolve) => setImmediate(resolve))

describe('AuthManager: streams', () => {
  const beds = bedPerTest({ interval: 1, accessTtl: 3600 })

  const manager = (options: ConstructorParameters<typeof AuthManager>[2] = {}, store = new MemoryStore()) => {
    const auth = new AuthManager(beds.bed.url, store, options)
    return beds.track(auth)
  }

  it('tells the whole lifecycle on events$ and session$ without a token or a device code in any value', async () => {
    const clock = new ShiftedClock()
    const store = new MemoryStore()
    const auth = manager({ clock }, store)
    const events: AuthLifecycleEvent[] = []
    const sessions: Session[] = []
    auth.events$.subscribe((event) => events.push(event))
    auth.session$.subscribe((session) => sessions.push(session))

    const handle = await auth.register({ name: 'Stream Agent' })
    const waiting = handle.waitForApproval()
    await beds.bed.owner.approve(handle.userCode)
    await waiting
    const first = (await store.load())!
    clock.shiftMs = 3600_000 - 30_000
    await auth.tokenProvider()
    const second = (await store.load())!
    await auth.revoke()
    await turn()

    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['approvalStarted', 'pollAttempt', 'authenticated', 'refreshed', 'revoked']))
    expect(sessions.map((session) => session.state)).toEqual(
      expect.arrayContaining(['signedOut', 'starting', 'pendingApproval', 'authenticating', 'authenticated', 'refreshing', 'revoking']),
    )
    expect(sessions.find((session) => session.state === 'pendingApproval')?.approval).toEqual({ userCode: handle.userCode, approvalUrl: handle.approvalUrl, expiresAt: handle.expiresAt })
    const deviceCode = beds.bed.proxy.requests.find((request) => request.form.has('device_code'))!.form.get('device_code')!
    const secrets = [first.accessToken!, first.refreshToken!, second.accessToken!, second.refreshToken!, deviceCode]
    const told = JSON.stringify([events, sessions])
    for (const secret of secrets) expect(told).not.toContain(secret)
  })

  it('emits each new access token once on token$, and null when signed out', async () => {
    const clock = new ShiftedClock()
    const auth = manager({ clock })
    const tokens: Array<AccessToken | null> = []
    auth.token$.subscribe((token) => tokens.push(token))
    const handle = await auth.register({ name: 'Token Stream Agent' })
    const waiting = handle.waitForApproval()
    await beds.bed.owner.approve(handle.userCode)
    await waiting
    const first = await auth.tokenProvider()
    await auth.tokenProvider()
    clock.shiftMs = 3600_000 - 30_000
    const second = await auth.tokenProvider()
    await auth.revoke()
    await turn()

    expect(tokens.map((token) => token?.accessToken ?? null)).toEqual([null, first, second, null])
    expect(tokens[1]).toMatchObject({ tokenType: 'Bearer', agentId: handle.agentId, scope: 'agent', expiresAt: expect.any(Number) })
  })

  it('delivers values after the call that caused them has returned, never inside it', async () => {
    const auth = manager()
    const seen: string[] = []
    auth.session$.subscribe((session) => seen.push(session.state))
    seen.push('subscribed')
    await turn()
    expect(seen).toEqual(['subscribed', 'unknown'])
  })

  it('carries on when a subscriber throws: other subscribers get every value, the session works, the failure is reported', async () => {
    const warnings: string[] = []
    const clock = new ShiftedClock()
    const auth = manager({ clock, logger: { warn: (message) => warnings.push(message) } })
    auth.events$.subscribe(() => {
      throw new Error('a subscriber bug with a secret in its message')
    })
    auth.token$.subscribe({
      next: () => {
        throw new TypeError('another subscriber bug')
      },
    })
    const events: string[] = []
    auth.events$.subscribe((event) => events.push(event.type))

    const handle = await auth.register({ name: 'Sturdy Agent' })
    const waiting = handle.waitForApproval()
    await beds.bed.owner.approve(handle.userCode)
    await waiting
    clock.shiftMs = 3600_000 - 30_000
    const token = await auth.tokenProvider()
    await turn()

    expect(events).toEqual(expect.arrayContaining(['approvalStarted', 'authenticated', 'refreshed']))
    expect(auth.state).toBe('authenticated')
    expect((await fetch(`${beds.bed.url}/api/agent/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    expect(warnings.length).toBeGreaterThan(0)
    expect(new Set(warnings)).toEqual(
      new Set([
        'countersign: a stream subscriber threw (Error); the runtime carried on',
        'countersign: a stream subscriber threw (TypeError); the runtime carried on',
      ]),
    )
  })

  it('completes every stream on dispose()', async () => {
    const auth = manager()
    const completed: string[] = []
    auth.session$.subscribe({ complete: () => completed.push('session$') })
    auth.token$.subscribe({ complete: () => completed.push('token$') })
    auth.events$.subscribe({ complete: () => completed.push('events$') })
    auth.dispose()
    await turn()
    expect(completed.sort()).toEqual(['events$', 'session$', 'token$'])
    expect(auth.state).toBe('disposed')
  })
})
