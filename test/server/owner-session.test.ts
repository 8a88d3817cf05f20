/**
 * Protocol §6, accounts and sessions: sign-up, sign-in, the session cookie,
 * sign-out, the CSRF token, and the limits on these endpoints.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../support/server.js'
import { jsonRequest, signIn } from './owner-helpers.js'

let test: TestServer | undefined

afterEach(async () => {
  await test?.dispose()
  test = undefined
})

const password = 'correct horse battery'

describe('sign-up', () => {
  it('creates an owner and answers 201 with its id', async () => {
    test = await startTestServer()
    const answer = await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    expect(answer.status).toBe(201)
    expect(answer.body).toEqual({ owner_id: expect.stringMatching(/^own_/) })
    expect(answer.headers.get('cache-control')).toBe('no-store')
  })

  it('answers 409 for an email that exists, in any letter case', async () => {
    test = await startTestServer()
    await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    const answer = await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ADA@example.test', password: 'another password' } })
    expect(answer.status).toBe(409)
    expect(answer.body).toEqual({ error: 'email_taken', error_description: 'an owner with this email already exists; sign in instead' })
  })

  it('answers 403 with a clear message when sign-up is turned off, and creates nobody', async () => {
    test = await startTestServer({ signup: false })
    const answer = await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    expect(answer.status).toBe(403)
    expect(answer.body).toEqual({ error: 'signup_disabled', error_description: 'sign-up is turned off on this server; ask its operator for an account' })
    const signInAnswer = await jsonRequest(`${test.url}/api/session`, 'POST', { body: { email: 'ada@example.test', password } })
    expect(signInAnswer.status).toBe(401)
  })

  it('lets the operator-made owner sign in when sign-up is turned off', async () => {
    test = await startTestServer({ signup: false, owner: { email: 'root@example.test', password } })
    const session = await signIn(test.url, 'root@example.test', password)
    expect(session.ownerId).toMatch(/^own_/)
  })

  it.each([
    ['a body that is not JSON', 'email=a@b.c&password=12345678', { 'content-type': 'application/x-www-form-urlencoded' }, 'the body must be a JSON object: { "email": ..., "password": ... }'],
    ['a JSON array', '[]', {}, 'the body must be a JSON object: { "email": ..., "password": ... }'],
    ['a missing email', JSON.stringify({ password }), {}, 'email must be an email address'],
    ['an email without @', JSON.stringify({ email: 'ada', password }), {}, 'email must be an email address'],
    ['a short password', JSON.stringify({ email: 'ada@example.test', password: 'short' }), {}, 'password must be 8 to 1024 characters'],
    ['a password that is not a string', JSON.stringify({ email: 'ada@example.test', password: 12345678 }), {}, 'password must be 8 to 1024 characters'],
  ])('answers 400 invalid_request naming the problem for %s', async (_name, body, headers, description) => {
    test = await startTestServer()
    const answer = await jsonRequest(`${test.url}/api/owners`, 'POST', { body, headers: { 'content-type': 'application/json', ...headers } })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'invalid_request', error_description: description })
  })

  it('answers 400 for malformed JSON', async () => {
    test = await startTestServer()
    const answer = await jsonRequest(`${test.url}/api/owners`, 'POST', { body: '{"email":', headers: { 'content-type': 'application/json' } })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(/JSON/) })
  })
})

describe('sign-in and the session', () => {
  async function withOwner(): Promise<TestServer> {
    const server = await startTestServer()
    const created = await jsonRequest(`${server.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    expect(created.status).toBe(201)
    return server
  }

  it('answers the owner id and a CSRF token and sets an HttpOnly, SameSite=Lax session cookie on path /', async () => {
    test = await withOwner()
    const answer = await jsonRequest(`${test.url}/api/session`, 'POST', { body: { email: 'ada@example.test', password } })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ owner_id: expect.stringMatching(/^own_/), csrf_token: expect.stringMatching(/^[\w-]{32}$/) })
    const cookie = answer.headers.getSetCookie()
    expect(cookie).toHaveLength(1)
    expect(cookie[0]).toMatch(/^countersign_session=[\w-]{43};/)
    expect(cookie[0]).toMatch(/; HttpOnly/)
    expect(cookie[0]).toMatch(/; SameSite=Lax/)
    expect(cookie[0]).toMatch(/; Path=\//)
    expect(cookie[0]).not.toMatch(/Secure/)
  })

  it('keeps only the hash of the session id in the data file', async () => {
    test = await withOwner()
    const session = await signIn(test.url, 'ada@example.test', password)
    const { readFile } = await import('node:fs/promises')
    const file = await readFile(test.dataFile, 'utf8')
    const sessionId = session.cookie.split('=')[1]!
    expect(file).not.toContain(sessionId)
    expect(JSON.parse(file).ownerSessions).toHaveLength(1)
  })

  it('marks the cookie Secure when the server is reached over https', async () => {
    test = await startTestServer({ issuer: 'https://approvals.example.test' })
    // The issuer names a proxy in front; the test talks to the listening socket itself.
    const local = `http://127.0.0.1:${(test.server.app.server.address() as { port: number }).port}`
    await jsonRequest(`${local}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    const answer = await jsonRequest(`${local}/api/session`, 'POST', { body: { email: 'ada@example.test', password } })
    expect(answer.status).toBe(200)
    expect(answer.headers.getSetCookie()[0]).toMatch(/; Secure/)
  })

  it('answers 401 for a wrong password and for an unknown email, with the same message', async () => {
    test = await withOwner()
    const wrong = await jsonRequest(`${test.url}/api/session`, 'POST', { body: { email: 'ada@example.test', password: 'wrong password' } })
    const unknown = await jsonRequest(`${test.url}/api/session`, 'POST', { body: { email: 'bob@example.test', password } })
    for (const answer of [wrong, unknown]) {
      expect(answer.status).toBe(401)
      expect(answer.body).toEqual({ error: 'invalid_credentials', error_description: 'the email or the password is wrong' })
      expect(answer.headers.getSetCookie()).toEqual([])
    }
  })

  it('GET /api/session answers the owner, email and CSRF token with the cookie, and 401 without it', async () => {
    test = await withOwner()
    const session = await signIn(test.url, 'ada@example.test', password)
    const mine = await jsonRequest(`${test.url}/api/session`, 'GET', { headers: { cookie: session.cookie } })
    expect(mine.status).toBe(200)
    expect(mine.body).toEqual({ owner_id: session.ownerId, email: 'ada@example.test', csrf_token: session.csrf })
    for (const cookie of [undefined, 'countersign_session=forged', `${session.cookie}x`]) {
      const answer = await jsonRequest(`${test.url}/api/session`, 'GET', { headers: cookie ? { cookie } : {} })
      expect(answer.status).toBe(401)
      expect(answer.body).toEqual({ error: 'unauthorized', error_description: 'sign in first: this request has no valid session cookie' })
    }
  })

  it('DELETE /api/session signs out: the cookie is cleared and no longer works', async () => {
    test = await withOwner()
    const session = await signIn(test.url, 'ada@example.test', password)
    const out = await jsonRequest(`${test.url}/api/session`, 'DELETE', { headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } })
    expect(out.status).toBe(204)
    expect(out.headers.getSetCookie()[0]).toMatch(/^countersign_session=;.*Expires=Thu, 01 Jan 1970/)
    const after = await jsonRequest(`${test.url}/api/session`, 'GET', { headers: { cookie: session.cookie } })
    expect(after.status).toBe(401)
  })

  it('a session ends when its time is up', async () => {
    let clock = Date.now()
    test = await startTestServer({ now: () => clock })
    await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    const session = await signIn(test.url, 'ada@example.test', password)
    clock += 7 * 24 * 3600_000 - 1000
    expect((await jsonRequest(`${test.url}/api/session`, 'GET', { headers: { cookie: session.cookie } })).status).toBe(200)
    clock += 1000
    expect((await jsonRequest(`${test.url}/api/session`, 'GET', { headers: { cookie: session.cookie } })).status).toBe(401)
  })
})

describe('the CSRF token', () => {
  it.each([
    ['missing', undefined],
    ['wrong', 'not-the-token-not-the-token-abcd'],
    ['empty', ''],
  ])('refuses a state-changing request whose X-CSRF-Token is %s with 403, and changes nothing', async (_name, token) => {
    test = await startTestServer()
    await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    const session = await signIn(test.url, 'ada@example.test', password)
    const headers: Record<string, string> = { cookie: session.cookie }
    if (token !== undefined) headers['x-csrf-token'] = token
    const expected = {
      error: 'csrf_token_mismatch',
      error_description: 'the X-CSRF-Token header is missing or does not match this session (it is returned by sign-in and GET /api/session)',
    }
    for (const [method, path] of [
      ['DELETE', '/api/session'],
      ['POST', '/api/approvals/BCDF-GHJK/approve'],
      ['POST', '/api/approvals/BCDF-GHJK/deny'],
      ['POST', '/api/agents/agt_x/revoke'],
    ] as const) {
      const answer = await jsonRequest(`${test.url}${path}`, method, { headers })
      expect(answer.status, `${method} ${path}`).toBe(403)
      expect(answer.body).toEqual(expected)
    }
    expect((await jsonRequest(`${test.url}/api/session`, 'GET', { headers: { cookie: session.cookie } })).status).toBe(200)
  })

  it('does not accept the token of another session', async () => {
    test = await startTestServer()
    await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    const first = await signIn(test.url, 'ada@example.test', password)
    const second = await signIn(test.url, 'ada@example.test', password)
    expect(second.csrf).not.toBe(first.csrf)
    const answer = await jsonRequest(`${test.url}/api/session`, 'DELETE', { headers: { cookie: first.cookie, 'x-csrf-token': second.csrf } })
    expect(answer.status).toBe(403)
    expect(answer.body.error).toBe('csrf_token_mismatch')
  })
})

describe('limits', () => {
  const attempt = (url: string, email: string, secret: string) => jsonRequest(`${url}/api/session`, 'POST', { body: { email, password: secret } })

  it('limits wrong passwords per address: past the budget a wrong one gets 429 with Retry-After, while the right password of another account still signs in', async () => {
    test = await startTestServer({ rateLimit: 3 })
    await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    // One guesser behind the address tries three accounts.
    const statuses: number[] = []
    for (const email of ['a@example.test', 'b@example.test', 'c@example.test', 'd@example.test']) statuses.push((await attempt(test.url, email, 'a wrong password')).status)
    expect(statuses).toEqual([401, 401, 401, 429])
    const refused = await attempt(test.url, 'ada@example.test', 'a wrong password')
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(refused.body).toEqual({ error: 'too_many_requests', error_description: expect.stringMatching(/^too many failed sign-ins from this address; try again in \d+ seconds$/) })
    // The owner behind the same address is not locked out.
    expect((await attempt(test.url, 'ada@example.test', password)).status).toBe(200)
  })

  it('backs an account off after 5 wrong passwords from any address (1 s, 2 s, 4 s, ...), the right password waiting too, until a success clears it', async () => {
    let clock = Date.now()
    test = await startTestServer({ now: () => clock, trustProxy: '127.0.0.1' })
    await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    const from = (address: string, secret: string) =>
      jsonRequest(`${test!.url}/api/session`, 'POST', { body: { email: 'ADA@example.test', password: secret }, headers: { 'x-forwarded-for': address } })
    // Five free wrong passwords, each from its own address: the address budget is not what stops this.
    for (let i = 0; i < 5; i++) expect((await from(`203.0.113.${i + 1}`, 'a wrong password')).status).toBe(401)
    // Then the account waits 1 s: even the right password is refused meanwhile.
    const waiting = await from('203.0.113.11', password)
    expect(waiting.status).toBe(429)
    expect(waiting.headers.get('retry-after')).toBe('1')
    expect(waiting.body).toEqual({ error: 'too_many_requests', error_description: 'too many wrong passwords for this account; try again in 1 seconds' })
    clock += 1000
    expect((await from('203.0.113.12', 'a wrong password')).status).toBe(401)
    clock += 1000
    expect((await from('203.0.113.13', password)).status).toBe(429)
    clock += 1000
    expect((await from('203.0.113.13', 'a wrong password')).status).toBe(401)
    clock += 3999
    expect((await from('203.0.113.14', password)).headers.get('retry-after')).toBe('1')
    clock += 1
    // The wait is over: the right password signs in and clears the count.
    expect((await from('203.0.113.14', password)).status).toBe(200)
    for (let i = 0; i < 5; i++) expect((await from('203.0.113.15', 'a wrong password')).status).toBe(401)
  })

  it('limits sign-in requests per address only as a bound on floods: ten times the rate limit', async () => {
    test = await startTestServer({ rateLimit: 1 })
    await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    const statuses: number[] = []
    for (let i = 0; i < 11; i++) statuses.push((await attempt(test.url, 'ada@example.test', password)).status)
    expect(statuses).toEqual([...Array(10).fill(200), 429])
  })

  it('answers 413 to a body over 64 KiB', async () => {
    test = await startTestServer()
    const answer = await jsonRequest(`${test.url}/api/session`, 'POST', { body: { email: 'ada@example.test', password: 'x'.repeat(70_000) } })
    expect(answer.status).toBe(413)
    expect(answer.body).toEqual({ error: 'invalid_request', error_description: 'the request body is larger than 64 KiB' })
  })
})
