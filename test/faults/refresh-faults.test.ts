/**
 * The fault suite's short run for refreshes: an agent on 2 s access tokens
 * refreshes through a proxy that spoils a seeded share of its refresh
 * requests (resets before and after the server answered, truncated answers,
 * gateway errors, late answers). A fault is never an answer: the session
 * never ends, the family is never revoked, and once the faults stop the
 * agent's token is accepted by the server.
 */
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuthManager } from '../../src/index.js'
import { startTestServer, TestOwner, type TestServer } from '../support/server.js'
import { seeded, startFaultProxy, type Fault, type FaultProxy } from './fault-proxy.js'

const isRefresh = (request: { path: string; form: URLSearchParams }) => request.path === '/oauth/token' && request.form.get('grant_type') === 'refresh_token'
const FAULTS: Fault[] = ['reset-before', 'reset-after', 'truncate', 502, 503, { delayMs: 300 }]
const SEED = Number(process.env.COUNTERSIGN_FAULT_SEED ?? 20261202)

describe('refreshes through a network that fails', () => {
  let proxy: FaultProxy
  let server: TestServer
  let owner: TestOwner
  const managers: AuthManager[] = []

  beforeEach(async () => {
    proxy = await startFaultProxy()
    server = await startTestServer({ interval: 1, accessTtl: 2, issuer: proxy.url })
    proxy.target = `http://127.0.0.1:${(server.server.app.server.address() as AddressInfo).port}`
    owner = await TestOwner.create(proxy.url)
  })

  afterEach(async () => {
    for (const auth of managers.splice(0)) auth.dispose()
    await server.dispose()
    await proxy.close()
  })

  it(`never signs out at 40 % faults of every kind but the black hole (seed ${SEED})`, async () => {
    const auth = new AuthManager(proxy.url, undefined, { refreshSkewMs: 1_000 })
    managers.push(auth)
    const ended: unknown[] = []
    let refreshed = 0
    auth.events$.subscribe((event) => {
      if (event.type === 'sessionEnded') ended.push(event)
      if (event.type === 'refreshed') refreshed++
    })
    const handle = await auth.register({ name: 'Fault Agent' })
    const waiting = handle.waitForApproval()
    await owner.approve(handle.userCode)
    await waiting

    const random = seeded(SEED)
    proxy.decide = (request) => (isRefresh(request) && random() < 0.4 ? FAULTS[Math.floor(random() * FAULTS.length)]! : null)
    const stopAt = Date.now() + 8_000
    while (Date.now() < stopAt) {
      await auth.tokenProvider().catch(() => {})
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    proxy.decide = () => null

    const spoiled = proxy.log.filter((entry) => entry.fault !== null)
    expect(spoiled.length).toBeGreaterThan(0)
    expect(ended).toEqual([])
    expect(auth.state === 'authenticated' || auth.state === 'refreshing').toBe(true)
    expect(refreshed).toBeGreaterThanOrEqual(2)

    // The faults are over: the token the agent serves is one the server accepts, from the same login.
    await auth.forceRefresh()
    const token = await auth.tokenProvider()
    const me = await fetch(`${proxy.url}/api/agent/me`, { headers: { authorization: `Bearer ${token}` } })
    expect(me.status).toBe(200)
    expect(ended).toEqual([])
  }, 30_000)
})
