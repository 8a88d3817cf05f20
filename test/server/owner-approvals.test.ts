/**
 * Protocol §6, approvals: an owner reads a request by its user code and
 * approves or denies it; a login can be decided only by the agent's owner;
 * wrong user codes are limited per address and per owner account (§7): an
 * account over its budget is refused, an address over its budget only for
 * codes that miss.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { TestOwner, startTestServer, type TestServer } from '../support/server.js'
import { exchange, jsonRequest, sessionRequestFrom, signIn, startLogin, startRegister } from './owner-helpers.js'

let test: TestServer | undefined

afterEach(async () => {
  await test?.dispose()
  test = undefined
})

/** A register request approved by `owner`, exchanged for tokens. */
async function registeredAgent(url: string, owner: TestOwner, name: string): Promise<{ agentId: string; refreshToken: string }> {
  const started = await startRegister(url, name)
  await owner.approve(started.user_code)
  const tokens = await exchange(url, started.device_code)
  expect(tokens.status).toBe(200)
  return { agentId: tokens.body.agent_id, refreshToken: tokens.body.refresh_token }
}

describe('reading an approval request', () => {
  it('shows a register request with its agent, intent, status and times', async () => {
    const start = Date.UTC(2026, 2, 1, 12, 0, 0)
    let clock = start
    test = await startTestServer({ now: () => clock, approvalTtl: 600 })
    const owner = await TestOwner.create(test.url)
    const started = await startRegister(test.url, 'Report writer')
    clock += 5000
    const answer = await owner.request('GET', `/api/approvals/${started.user_code}`)
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({
      user_code: started.user_code,
      intent: 'register',
      agent: { id: started.agent_id, name: 'Report writer', username: 'report-writer' },
      status: 'pending',
      scope: 'agent offline_access',
      created_at: '2026-03-01T12:00:00.000Z',
      expires_at: '2026-03-01T12:10:00.000Z',
      decided_at: null,
    })
  })

  it('accepts the code as a human types it: lower case, without the dash, with spaces', async () => {
    test = await startTestServer()
    const owner = await TestOwner.create(test.url)
    const started = await startRegister(test.url, 'Typist')
    const typed = ` ${started.user_code.replace('-', '').toLowerCase()} `
    const answer = await owner.request('GET', `/api/approvals/${encodeURIComponent(typed)}`)
    expect(answer.status).toBe(200)
    expect(answer.body.user_code).toBe(started.user_code)
  })

  it('says expired once the request has run out, and the decision is refused', async () => {
    let clock = Date.now()
    test = await startTestServer({ now: () => clock, approvalTtl: 60 })
    const owner = await TestOwner.create(test.url)
    const started = await startRegister(test.url, 'Slow reader')
    clock += 60_000
    expect((await owner.request('GET', `/api/approvals/${started.user_code}`)).body.status).toBe('expired')
    const answer = await owner.request('POST', `/api/approvals/${started.user_code}/approve`)
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'expired_token', error_description: 'this approval request has expired' })
  })

  it('answers 404 for a well-formed code that names no request, and 400 for one that cannot be a code', async () => {
    test = await startTestServer()
    const owner = await TestOwner.create(test.url)
    const unknown = await owner.request('GET', '/api/approvals/BCDF-GHJK')
    expect(unknown.status).toBe(404)
    expect(unknown.body).toEqual({ error: 'not_found', error_description: 'no approval request you can see has the user code BCDF-GHJK' })
    for (const bad of ['ABCD-EFGH', 'BCD', 'x'.repeat(150)]) {
      const answer = await owner.request('GET', `/api/approvals/${bad}`)
      expect(answer.status, bad).toBe(400)
      expect(answer.body).toEqual({ error: 'invalid_request', error_description: 'the user code is not valid: a user code is 8 letters from BCDFGHJKLMNPQRSTVWXZ, like WDJB-MJHT' })
    }
  })

  it('answers 401 without a session', async () => {
    test = await startTestServer()
    const started = await startRegister(test.url, 'Anyone')
    const answer = await jsonRequest(`${test.url}/api/approvals/${started.user_code}`, 'GET')
    expect(answer.status).toBe(401)
    expect(answer.body.error).toBe('unauthorized')
  })
})

describe('deciding', () => {
  it('approving a register request makes the approver the owner, and the waiting client gets tokens for the same agent', async () => {
    test = await startTestServer({ interval: 1 })
    const owner = await TestOwner.create(test.url)
    const started = await startRegister(test.url, 'Poller')
    const polling = exchange(test.url, started.device_code, 10)
    const answer = await owner.request('POST', `/api/approvals/${started.user_code}/approve`)
    expect(answer).toEqual({ status: 200, body: { status: 'approved' } })
    const tokens = await polling
    expect(tokens.status).toBe(200)
    expect(tokens.body.agent_id).toBe(started.agent_id)
    const me = await fetch(`${test.url}/api/agent/me`, { headers: { authorization: `Bearer ${tokens.body.access_token}` } })
    expect(((await me.json()) as { owner: string }).owner).toBe(owner.ownerId)
    const view = await owner.request('GET', `/api/approvals/${started.user_code}`)
    expect(view.body.status).toBe('approved')
    expect(view.body.decided_at).toEqual(expect.any(String))
  })

  it('denying answers denied and the polling client gets access_denied', async () => {
    test = await startTestServer({ interval: 1 })
    const owner = await TestOwner.create(test.url)
    const started = await startRegister(test.url, 'Refused')
    const polling = exchange(test.url, started.device_code, 10)
    expect(await owner.request('POST', `/api/approvals/${started.user_code}/deny`)).toEqual({ status: 200, body: { status: 'denied' } })
    const answer = await polling
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'access_denied', error_description: 'the request was denied' })
  })

  it('repeating a decision is harmless, reversing it is refused with 409', async () => {
    test = await startTestServer()
    const owner = await TestOwner.create(test.url)
    const started = await startRegister(test.url, 'Decided')
    await owner.approve(started.user_code)
    expect(await owner.request('POST', `/api/approvals/${started.user_code}/approve`)).toEqual({ status: 200, body: { status: 'approved' } })
    const reversed = await owner.request('POST', `/api/approvals/${started.user_code}/deny`)
    expect(reversed.status).toBe(409)
    expect(reversed.body).toEqual({ error: 'invalid_request', error_description: 'this approval request was already approved' })
  })

  it("refuses a login request of someone else's agent (404 to read, 403 to decide), while its owner's approval works", async () => {
    test = await startTestServer({ interval: 1 })
    const ada = await TestOwner.create(test.url, 'ada@example.test')
    const mallory = await TestOwner.create(test.url, 'mallory@example.test')
    const { agentId } = await registeredAgent(test.url, ada, 'Ada agent')
    const login = await startLogin(test.url, agentId)

    const read = await mallory.request('GET', `/api/approvals/${login.user_code}`)
    expect(read.status).toBe(404)
    expect(read.body).toEqual({ error: 'not_found', error_description: `no approval request you can see has the user code ${login.user_code}` })
    for (const verb of ['approve', 'deny']) {
      const decided = await mallory.request('POST', `/api/approvals/${login.user_code}/${verb}`)
      expect(decided.status, verb).toBe(403)
      expect(decided.body).toEqual({ error: 'access_denied', error_description: 'only the owner of this agent can decide its login request' })
    }
    expect((await exchange(test.url, login.device_code)).body.error).toBe('authorization_pending')

    const own = await ada.request('GET', `/api/approvals/${login.user_code}`)
    expect(own.status).toBe(200)
    expect(own.body).toMatchObject({ intent: 'login', status: 'pending', agent: { id: agentId, name: 'Ada agent' } })
    await ada.approve(login.user_code)
    const tokens = await exchange(test.url, login.device_code, 5)
    expect(tokens.status).toBe(200)
    expect(tokens.body.agent_id).toBe(agentId)
  })
})

describe('wrong user codes', () => {
  it('answer 429 with Retry-After to the misses from an address after 10 in 15 minutes, while a right code from there is still answered and decided', async () => {
    let clock = Date.now()
    test = await startTestServer({ now: () => clock })
    const guesser = await TestOwner.create(test.url, 'guesser@example.test')
    const ada = await TestOwner.create(test.url, 'ada@example.test')
    const started = await startRegister(test.url, 'Target')
    for (let i = 0; i < 10; i++) {
      const miss = await guesser.request('GET', `/api/approvals/BCDF-GH${'JKLMNPQRST'[i]}K`)
      expect(miss.status, `miss ${i + 1}`).toBe(404)
      clock += 1000
    }
    // Another owner behind the same address (a NAT) opens the right link and approves: not slowed.
    const session = await signIn(test.url, ada.email, ada.password)
    const read = await fetch(`${test.url}/api/approvals/${started.user_code}`, { headers: { cookie: session.cookie } })
    expect(read.status).toBe(200)
    // A wrong code from the address is refused, and counted against the account that sent it.
    const wrong = await fetch(`${test.url}/api/approvals/BCDF-GHZK`, { headers: { cookie: session.cookie } })
    expect(wrong.status).toBe(429)
    // The first miss leaves the window 15 minutes after it was made, 10 s ago.
    expect(wrong.headers.get('retry-after')).toBe(String(15 * 60 - 10))
    expect(await wrong.json()).toEqual({ error: 'too_many_requests', error_description: 'too many wrong user codes from this address; try again in 890 seconds' })
    const approved = await fetch(`${test.url}/api/approvals/${started.user_code}/approve`, { method: 'POST', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } })
    expect(approved.status).toBe(200)
    expect((await exchange(test.url, started.device_code)).status).toBe(200)
    // Once the window has passed over every miss, a wrong code is just not found.
    clock += 15 * 60 * 1000
    expect((await ada.request('GET', '/api/approvals/BCDF-GHZK')).status).toBe(404)
  })

  it('refuse the guessing account every lookup, right codes too, and refuse sign-up from its address while that is over its budget', async () => {
    let clock = Date.now()
    test = await startTestServer({ now: () => clock })
    const guesser = await TestOwner.create(test.url, 'guesser@example.test')
    const started = await startRegister(test.url, 'Target')
    for (let i = 0; i < 10; i++) expect((await guesser.request('GET', `/api/approvals/BCDF-GH${'JKLMNPQRST'[i]}K`)).status).toBe(404)
    for (const [method, path] of [['GET', `/api/approvals/${started.user_code}`], ['POST', `/api/approvals/${started.user_code}/approve`]] as const) {
      const refused = await guesser.request(method, path)
      expect(refused.status, `${method} ${path}`).toBe(429)
      expect(refused.body).toEqual({ error: 'too_many_requests', error_description: 'too many wrong user codes for this account; try again in 900 seconds' })
    }
    // A fresh account would be a fresh budget: not from this address.
    const signUp = await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'fresh@example.test', password: 'a long enough password' } })
    expect(signUp.status).toBe(429)
    expect(signUp.body).toEqual({ error: 'too_many_requests', error_description: 'too many wrong user codes from this address to open an account; try again in 900 seconds' })
    expect(signUp.headers.get('retry-after')).toBe('900')
    clock += 900_000
    expect((await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'fresh@example.test', password: 'a long enough password' } })).status).toBe(201)
    expect((await guesser.request('GET', `/api/approvals/${started.user_code}`)).status).toBe(200)
  })

  it('answer 429 to an account that made 10 misses from 10 addresses, from any address, while other accounts there are not slowed', async () => {
    let clock = Date.now()
    test = await startTestServer({ now: () => clock })
    const mallory = await TestOwner.create(test.url, 'mallory@example.test')
    const ada = await TestOwner.create(test.url, 'ada@example.test')
    const mallorySession = await signIn(test.url, mallory.email, mallory.password)
    const adaSession = await signIn(test.url, ada.email, ada.password)
    const started = await startRegister(test.url, 'Target')
    for (let i = 0; i < 10; i++) {
      const miss = await sessionRequestFrom(`127.0.0.${i + 2}`, test.url, 'GET', `/api/approvals/BCDF-GH${'JKLMNPQRST'[i]}K`, mallorySession)
      expect(miss.status, `miss ${i + 1}`).toBe(404)
      clock += 1000
    }
    // A fresh address does not help, not even with the right code.
    for (const [method, path] of [['GET', `/api/approvals/${started.user_code}`], ['POST', `/api/approvals/${started.user_code}/approve`]] as const) {
      const refused = await sessionRequestFrom('127.0.0.20', test.url, method, path, mallorySession)
      expect(refused.status, `${method} ${path}`).toBe(429)
      expect(refused.retryAfter).toBe(String(15 * 60 - 10))
      expect(refused.body).toEqual({ error: 'too_many_requests', error_description: 'too many wrong user codes for this account; try again in 890 seconds' })
    }
    // Each of those addresses made one miss only: another account there still looks codes up.
    expect((await sessionRequestFrom('127.0.0.2', test.url, 'GET', `/api/approvals/${started.user_code}`, adaSession)).status).toBe(200)
    clock += (15 * 60 - 10) * 1000
    expect((await sessionRequestFrom('127.0.0.20', test.url, 'GET', `/api/approvals/${started.user_code}`, mallorySession)).status).toBe(200)
  })

  it('count malformed codes as input errors, not as guesses', async () => {
    test = await startTestServer()
    const owner = await TestOwner.create(test.url)
    const started = await startRegister(test.url, 'Target')
    for (let i = 0; i < 12; i++) expect((await owner.request('GET', '/api/approvals/AEIO-UAEI')).status).toBe(400)
    expect((await owner.request('GET', `/api/approvals/${started.user_code}`)).status).toBe(200)
  })

  it("count a peek at someone else's login request as a miss", async () => {
    test = await startTestServer()
    const ada = await TestOwner.create(test.url, 'ada@example.test')
    const mallory = await TestOwner.create(test.url, 'mallory@example.test')
    const { agentId } = await registeredAgent(test.url, ada, 'Ada agent')
    const login = await startLogin(test.url, agentId)
    for (let i = 0; i < 10; i++) expect((await mallory.request('GET', `/api/approvals/${login.user_code}`)).status).toBe(404)
    expect((await mallory.request('GET', `/api/approvals/${login.user_code}`)).status).toBe(429)
  })
})
