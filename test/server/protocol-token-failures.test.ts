/**
 * Protocol §7 at the token endpoint: failed token requests are rate limited
 * per address with the --rate-limit budget; successful grants and the
 * polling answers of §3.1 never count and are never answered 429.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  CLIENT_ID,
  DEVICE_CODE_GRANT,
  approvedLogin,
  expectOAuthError,
  pollToken,
  refreshGrant,
  startApproval,
  startProtocolServer,
  startRegistration,
  type Answer,
  type ProtocolServer,
} from './protocol-support.js'
import { postForm } from '../support/server.js'

describe('protocol §7: failed token requests', () => {
  let server: ProtocolServer | undefined
  afterEach(async () => {
    await server?.dispose()
    server = undefined
  })

  /** One failed token request of each kind the endpoint refuses, with the error it answers. */
  const failures: Array<[string, (url: string) => Promise<Answer>, string]> = [
    ['an unknown device code', (url) => pollToken(url, 'dc_not-a-real-device-code'), 'invalid_grant'],
    ['an unknown refresh token', (url) => refreshGrant(url, 'rt_not-a-real-refresh-token'), 'invalid_grant'],
    ['no client_id', (url) => postForm(`${url}/oauth/token`, { grant_type: DEVICE_CODE_GRANT, device_code: 'dc_x' }), 'invalid_request'],
    ['an unknown client_id', (url) => postForm(`${url}/oauth/token`, { client_id: 'someone-else', grant_type: 'refresh_token', refresh_token: 'rt_x' }), 'invalid_client'],
    ['an unsupported grant type', (url) => postForm(`${url}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'password' }), 'unsupported_grant_type'],
    ['a body that is not valid JSON under a JSON content type', async (url) => {
      const response = await fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })
      return { status: response.status, body: await response.json(), headers: response.headers }
    }, 'invalid_request'],
  ]

  it('answers 429 with Retry-After in the RFC 6749 shape in place of each failure once an address has used its budget, until the window passes', async () => {
    server = await startProtocolServer({ rateLimit: failures.length })
    const login = await approvedLogin(server)
    for (const [what, send, error] of failures) expect((await send(server.url)).body.error, what).toBe(error)

    const refused = await refreshGrant(server.url, 'rt_still-guessing')
    expectOAuthError(refused, 429, 'too_many_requests', /^too many failed token requests from this address; try again in 60 seconds$/)
    expect(refused.headers.get('retry-after')).toBe('60')
    expect(refused.headers.get('cache-control')).toBe('no-store')
    // The 429s themselves do not extend the wait.
    server.clock.advance(30_000)
    expect((await pollToken(server.url, 'dc_still-guessing')).headers.get('retry-after')).toBe('30')
    // Device authorization has a budget of its own.
    expect((await startApproval(server.url, { agent_name: 'Unaffected' })).status).toBe(200)

    server.clock.advance(30_000)
    expectOAuthError(await refreshGrant(server.url, 'rt_guessing-anew'), 400, 'invalid_grant', /unknown/)
    expect((await refreshGrant(server.url, login.refresh_token)).status).toBe(200)
  })

  it('still answers a good refresh and a good device code from an address over its budget: failures from one address do not lock out the agents behind it', async () => {
    server = await startProtocolServer({ rateLimit: failures.length })
    const login = await approvedLogin(server)
    const registration = await startRegistration(server.url, { agent_name: 'Behind The Same Address' })
    await server.approve(registration.user_code)
    for (const [what, send, error] of failures) expect((await send(server.url)).body.error, what).toBe(error)
    expect((await refreshGrant(server.url, 'rt_one-more')).status).toBe(429)

    const refreshed = await refreshGrant(server.url, login.refresh_token)
    expect(refreshed.status).toBe(200)
    expect(refreshed.body.refresh_token).toEqual(expect.any(String))
    const exchanged = await pollToken(server.url, registration.device_code)
    expect(exchanged.status).toBe(200)
    expect(exchanged.body.access_token).toEqual(expect.any(String))
  })

  it('lets failures under the budget pass without slowing anything', async () => {
    server = await startProtocolServer({ rateLimit: 3 })
    const login = await approvedLogin(server)
    for (let i = 0; i < 2; i++) expectOAuthError(await refreshGrant(server.url, `rt_wrong-${i}`), 400, 'invalid_grant', /unknown/)
    expect((await refreshGrant(server.url, login.refresh_token)).status).toBe(200)
    expectOAuthError(await refreshGrant(server.url, 'rt_wrong-again'), 400, 'invalid_grant', /unknown/)
    expectOAuthError(await refreshGrant(server.url, 'rt_and-now-over'), 429, 'too_many_requests', /failed token requests/)
  })

  it('never answers successful refreshes from one address with 429, however many: a fleet of agents refreshing is not throttled', async () => {
    server = await startProtocolServer({ rateLimit: 3 })
    const sessions = await Promise.all(Array.from({ length: 3 }, () => approvedLogin(server!)))
    const statuses: number[] = []
    for (let round = 0; round < 15; round++) {
      const answers = await Promise.all(sessions.map((session) => refreshGrant(server!.url, session.refresh_token)))
      // A repeat within the grace period gives the same pair, also a success.
      const repeats = await Promise.all(sessions.map((session) => refreshGrant(server!.url, session.refresh_token)))
      statuses.push(...answers.map((answer) => answer.status), ...repeats.map((answer) => answer.status))
      answers.forEach((answer, i) => (sessions[i] = answer.body))
    }
    expect(statuses).toHaveLength(90)
    expect(statuses.filter((status) => status !== 200)).toEqual([])
  })

  it('never answers the polling answers with 429, nor counts them: pending, slow_down, denied and expired', async () => {
    server = await startProtocolServer({ rateLimit: 3, approvalTtl: 60 })
    const pending = await startRegistration(server.url)
    const denied = await startRegistration(server.url)
    await server.deny(denied.user_code)
    const answers: Answer[] = []
    for (let i = 0; i < 10; i++) answers.push(await pollToken(server.url, pending.device_code), await pollToken(server.url, denied.device_code))
    answers.push(...(await Promise.all(Array.from({ length: 10 }, () => pollToken(server!.url, pending.device_code)))))
    server.clock.advance(61_000)
    for (let i = 0; i < 10; i++) answers.push(await pollToken(server.url, pending.device_code))
    expect([...new Set(answers.map((answer) => answer.body.error))].sort()).toEqual(['access_denied', 'authorization_pending', 'expired_token', 'slow_down'])
    expect(answers.map((answer) => answer.status)).not.toContain(429)
    // None of them used the budget: three failures still pass before the fourth is refused.
    for (let i = 0; i < 3; i++) expect((await refreshGrant(server.url, `rt_wrong-${i}`)).status).toBe(400)
    expect((await refreshGrant(server.url, 'rt_wrong-3')).status).toBe(429)
  })
})
