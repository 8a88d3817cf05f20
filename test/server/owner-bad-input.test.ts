/**
 * Protocol §7 for the owner API and the console: malformed requests, with and
 * without a valid session, never make the server answer 5xx, every JSON error
 * has the `{ error, error_description }` shape, and the server stays healthy.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestOwner, startTestServer, type TestServer } from '../support/server.js'
import { signIn, startRegister } from './owner-helpers.js'

let test: TestServer
let session: { cookie: string; csrf: string }
let userCode: string

beforeAll(async () => {
  test = await startTestServer({ rateLimit: 100_000 })
  const owner = await TestOwner.create(test.url, 'fuzz@example.test')
  session = await signIn(test.url, owner.email, owner.password)
  userCode = (await startRegister(test.url, 'Fuzz target')).user_code
})

afterAll(async () => {
  await test?.dispose()
})

/** Text that survives encodeURIComponent (no lone surrogates). */
const text = fc.string({ unit: 'grapheme', maxLength: 60 })

/** A path segment or query value, percent-encoded; sometimes the code of a real pending request. */
const segment = fc
  .oneof(text, fc.constantFrom('BCDF-GHJK', 'bcdfghjk', '', '..', '%', 'agt_x', '__proto__', 'constructor'), fc.constant(null))
  .map((value) => encodeURIComponent(value ?? userCode))

const path = fc.oneof(
  fc.constantFrom('/api/owners', '/api/session', '/api/agents', '/', '/device', '/agents'),
  segment.map((s) => `/api/approvals/${s}`),
  fc.tuple(segment, fc.constantFrom('approve', 'deny', 'APPROVE', '')).map(([s, verb]) => `/api/approvals/${s}/${verb}`),
  segment.map((s) => `/api/agents/${s}/revoke`),
  fc.tuple(fc.constantFrom('/device', '/'), fc.constantFrom('user_code', 'next', 'user_code[]', 'user_code[a]'), segment).map(([p, key, s]) => `${p}?${key}=${s}`),
)

const jsonValue = fc.jsonValue({ maxDepth: 3 })
const body = fc.oneof(
  fc.constant(undefined),
  fc.record({ email: fc.oneof(text, jsonValue, fc.constant('a@b.c')), password: fc.oneof(text, jsonValue, fc.constant('12345678')) }).map((value) => JSON.stringify(value)),
  jsonValue.map((value) => JSON.stringify(value)),
  text,
  fc.constantFrom('{"__proto__":{"admin":true},"email":"a@b.c","password":"12345678"}', '{', 'null', '[]', '"x"'),
)

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH'),
  path,
  body,
  contentType: fc.constantFrom(undefined, 'application/json', 'application/x-www-form-urlencoded', 'text/plain', 'application/json; charset=utf-8'),
  withSession: fc.boolean(),
  csrf: fc.oneof(fc.constant('right'), fc.constant(undefined), fc.string({ maxLength: 40, unit: 'grapheme-ascii' })),
})

describe('malformed owner requests', () => {
  it('are answered 2xx, 3xx or 4xx, JSON errors in the documented shape, and the server keeps working', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (input) => {
        const headers: Record<string, string> = {}
        if (input.contentType && input.body !== undefined) headers['content-type'] = input.contentType
        if (input.withSession) headers.cookie = session.cookie
        if (input.csrf !== undefined) headers['x-csrf-token'] = input.csrf === 'right' ? session.csrf : input.csrf
        const url = `${test.url}${input.path}`
        const sendsBody = input.body !== undefined && input.method !== 'GET'
        const response = await fetch(url, { method: input.method, headers, body: sendsBody ? input.body : undefined, redirect: 'manual' })
        const answer = await response.text()
        expect(response.status, `${input.method} ${url}`).toBeLessThan(500)
        if (response.status >= 400 && (response.headers.get('content-type') ?? '').startsWith('application/json')) {
          const parsed = JSON.parse(answer)
          expect(Object.keys(parsed).sort()).toEqual(['error', 'error_description'])
          expect(typeof parsed.error_description).toBe('string')
        }
      }),
      { numRuns: 600 },
    )
    // The fuzz may have signed the session out; a fresh one must still work end to end.
    const fresh = await signIn(test.url, 'fuzz@example.test', 'correct horse battery')
    const health = await fetch(`${test.url}/api/agents`, { headers: { cookie: fresh.cookie } })
    expect(health.status).toBe(200)
    // The fuzz may also have approved the one real request.
    const agents = (await health.json()) as Array<{ name: string }>
    expect(agents.map((agent) => agent.name)).toEqual(agents.length === 0 ? [] : ['Fuzz target'])
  }, 120_000)
})
