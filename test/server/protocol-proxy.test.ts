/**
 * Protocol §7 behind a proxy: with `trustProxy` naming it, every per-address
 * limit (device authorization, sign-in, failed token requests, wrong user
 * codes) counts the client its X-Forwarded-For names; without it, or from an
 * address not named, X-Forwarded-For is ignored. X-Forwarded-Proto from a
 * trusted proxy makes the session cookie Secure.
 */
import { request as httpRequest } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type ServerOptions } from '../../src/server/index.js'
import { CLIENT_ID, TestOwner, postForm, startTestServer, type TestServer } from '../support/server.js'
import { jsonRequest, signIn, startRegister } from './owner-helpers.js'
import { expectOAuthError, startApproval } from './protocol-support.js'

const PROXY = '127.0.0.1'
const password = 'correct horse battery'

let test: TestServer | undefined
afterEach(async () => {
  await test?.dispose()
  test = undefined
})

function forwardedFor(address: string): Record<string, string> {
  return { 'x-forwarded-for': address }
}

async function deviceAuthorizations(url: string, headers: Record<string, string>, count: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < count; i++) statuses.push((await startApproval(url, { agent_name: `Proxied ${i}` }, headers)).status)
  return statuses
}

/** A device authorization sent from another loopback address, as a client that is not the proxy. */
function deviceAuthorizationFrom(localAddress: string, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const body = new URLSearchParams({ client_id: CLIENT_ID, agent_name: 'Elsewhere' }).toString()
    const sent = httpRequest(
      { host: hostname, port, method: 'POST', path: '/oauth/device_authorization', localAddress, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } },
      (response) => {
        response.resume()
        response.on('end', () => resolve(response.statusCode!))
      },
    )
    sent.on('error', reject)
    sent.end(body)
  })
}

describe('with trustProxy naming the proxy', () => {
  it('gives each forwarded client its own device authorization budget, and the proxy itself one more', async () => {
    test = await startTestServer({ trustProxy: PROXY, rateLimit: 2 })
    expect(await deviceAuthorizations(test.url, forwardedFor('203.0.113.1'), 3)).toEqual([200, 200, 429])
    expect(await deviceAuthorizations(test.url, forwardedFor('203.0.113.2'), 3)).toEqual([200, 200, 429])
    expect(await deviceAuthorizations(test.url, forwardedFor('2001:db8::7'), 2)).toEqual([200, 200])
    expect(await deviceAuthorizations(test.url, {}, 2)).toEqual([200, 200])
  })

  it('gives each forwarded client its own sign-in budget', async () => {
    test = await startTestServer({ trustProxy: PROXY, rateLimit: 2 })
    const attempt = async (address: string) => (await jsonRequest(`${test!.url}/api/session`, 'POST', { body: { email: 'ada@example.test', password }, headers: forwardedFor(address) })).status
    const first = [await attempt('203.0.113.1'), await attempt('203.0.113.1'), await attempt('203.0.113.1')]
    expect(first).toEqual([401, 401, 429])
    expect([await attempt('203.0.113.2'), await attempt('203.0.113.2')]).toEqual([401, 401])
  })

  it('gives each forwarded client its own budget of failed token requests', async () => {
    test = await startTestServer({ trustProxy: PROXY, rateLimit: 2 })
    const fail = (address: string) => postForm(`${test!.url}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: 'rt_unknown' }, forwardedFor(address))
    for (let i = 0; i < 2; i++) expectOAuthError(await fail('203.0.113.1'), 400, 'invalid_grant', /unknown/)
    expectOAuthError(await fail('203.0.113.1'), 429, 'too_many_requests', /^too many failed token requests from this address/)
    for (let i = 0; i < 2; i++) expectOAuthError(await fail('203.0.113.2'), 400, 'invalid_grant', /unknown/)
  })

  it('counts wrong user codes per forwarded client', async () => {
    test = await startTestServer({ trustProxy: PROXY })
    for (const email of ['mallory@example.test', 'ada@example.test']) await TestOwner.create(test.url, email, password)
    const mallory = await signIn(test.url, 'mallory@example.test', password)
    const ada = await signIn(test.url, 'ada@example.test', password)
    const started = await startRegister(test.url, 'Target')
    const lookUp = async (session: { cookie: string; csrf: string }, address: string, code: string) =>
      (await fetch(`${test!.url}/api/approvals/${code}`, { headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, ...forwardedFor(address) } })).status
    for (let i = 0; i < 10; i++) expect(await lookUp(mallory, '203.0.113.1', `BCDF-GH${'JKLMNPQRST'[i]}K`), `miss ${i + 1}`).toBe(404)
    // Over its budget, the client's address gets 429 for codes that miss; the right code is still answered.
    expect(await lookUp(ada, '203.0.113.1', 'BCDF-GHZK')).toBe(429)
    expect(await lookUp(ada, '203.0.113.1', started.user_code)).toBe(200)
    // Another client behind the same proxy has a budget of its own.
    expect(await lookUp(ada, '203.0.113.2', 'BCDF-GHZK')).toBe(404)
  })

  it('believes only the addresses a trusted proxy added: what a client puts first in X-Forwarded-For is not its address', async () => {
    test = await startTestServer({ trustProxy: PROXY, rateLimit: 2 })
    expect(await deviceAuthorizations(test.url, forwardedFor('198.51.100.1, 203.0.113.1'), 1)).toEqual([200])
    expect(await deviceAuthorizations(test.url, forwardedFor('198.51.100.2, 203.0.113.1'), 2)).toEqual([200, 429])
  })

  it('ignores X-Forwarded-For from a client that is not a named proxy', async () => {
    test = await startTestServer({ trustProxy: PROXY, rateLimit: 2 })
    const statuses = []
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) statuses.push(await deviceAuthorizationFrom('127.0.0.9', test.url, forwardedFor(address)))
    expect(statuses).toEqual([200, 200, 429])
    // The proxy's clients are counted apart from it.
    expect(await deviceAuthorizations(test.url, forwardedFor('203.0.113.1'), 1)).toEqual([200])
  })

  it('marks the session cookie Secure when the proxy says the owner came over https, and keeps it Secure with an https issuer whatever the proxy says', async () => {
    test = await startTestServer({ trustProxy: PROXY })
    await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    const cookieOver = async (url: string, proto: string) =>
      (await jsonRequest(`${url}/api/session`, 'POST', { body: { email: 'ada@example.test', password }, headers: { 'x-forwarded-proto': proto } })).headers.getSetCookie()[0]
    expect(await cookieOver(test.url, 'https')).toMatch(/; Secure/)
    expect(await cookieOver(test.url, 'http')).not.toMatch(/Secure/)

    const behind = await test.restart({ issuer: 'https://approvals.example.test' })
    test = behind
    expect(await cookieOver(behind.server.listenUrl, 'http')).toMatch(/; Secure/)
  })
})

describe('without trustProxy', () => {
  it('ignores X-Forwarded-For: every client behind a proxy shares its one budget', async () => {
    test = await startTestServer({ rateLimit: 2 })
    expect(await deviceAuthorizations(test.url, forwardedFor('203.0.113.1'), 2)).toEqual([200, 200])
    expect(await deviceAuthorizations(test.url, forwardedFor('203.0.113.2'), 1)).toEqual([429])
  })

  it('ignores X-Forwarded-Proto: a plain-http server does not mark the cookie Secure because a header asks', async () => {
    test = await startTestServer()
    await jsonRequest(`${test.url}/api/owners`, 'POST', { body: { email: 'ada@example.test', password } })
    const answer = await jsonRequest(`${test.url}/api/session`, 'POST', { body: { email: 'ada@example.test', password }, headers: { 'x-forwarded-proto': 'https' } })
    expect(answer.status).toBe(200)
    expect(answer.headers.getSetCookie()[0]).not.toMatch(/Secure/)
  })
})

describe('the trustProxy option', () => {
  it.each<[string, unknown, string]>([
    ['a host name', 'proxy.internal', 'it has "proxy.internal", which is not an IP address or CIDR range'],
    ['a prefix too long for IPv4', '10.0.0.0/33', 'it has "10.0.0.0/33", whose prefix length must be a whole number from 1 to 32'],
    ['a prefix of 0 (every address)', '0.0.0.0/0', 'it has "0.0.0.0/0", whose prefix length must be a whole number from 1 to 32'],
    ['a prefix that is not a number', '::1/abc', 'it has "::1/abc", whose prefix length must be a whole number from 1 to 128'],
    ['an empty entry', '10.0.0.1,', 'it has an empty entry'],
  ])('refuses %s, naming the option and the entry', async (_, trustProxy, problem) => {
    await expect(createServer({ port: 0, trustProxy } as ServerOptions)).rejects.toThrow(new TypeError(`trustProxy must list IP addresses or CIDR ranges (e.g. 127.0.0.1 or 10.0.0.0/8); ${problem}`))
  })

  it.each<[string, unknown, string]>([
    ['an empty string', '', 'trustProxy must name at least one proxy address or CIDR range'],
    ['an empty array', [], 'trustProxy must name at least one proxy address or CIDR range'],
    ['a number', 1, 'trustProxy must be a comma-separated string or an array of proxy addresses'],
    ['true', true, 'trustProxy must be a comma-separated string or an array of proxy addresses'],
  ])('refuses %s', async (_, trustProxy, message) => {
    await expect(createServer({ port: 0, trustProxy } as ServerOptions)).rejects.toThrow(new TypeError(message))
  })

  it('accepts addresses and ranges of both families, comma-separated with spaces or as an array, and the range names', async () => {
    for (const trustProxy of ['10.0.0.0/8, 127.0.0.1 , ::1', ['192.168.0.0/16', 'fd00::/8'], 'loopback']) {
      test = await startTestServer({ trustProxy, rateLimit: 1 })
      expect(await deviceAuthorizations(test.url, forwardedFor('203.0.113.1'), 1), String(trustProxy)).toEqual([200])
      expect(await deviceAuthorizations(test.url, forwardedFor('203.0.113.2'), 1), String(trustProxy)).toEqual(String(trustProxy).includes('127.0.0.1') || trustProxy === 'loopback' ? [200] : [429])
      await test.dispose()
      test = undefined
    }
  })
})
