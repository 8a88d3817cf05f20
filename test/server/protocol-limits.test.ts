import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID, DEVICE_CODE_GRANT, expectOAuthError, pollToken, startApproval, startProtocolServer, startRegistration, type ProtocolServer } from './protocol-support.js'

/** Each endpoint with parameters that are fine, so that client_id is what the endpoint judges. */
const OAUTH_ENDPOINTS: Array<[string, string]> = [
  ['/oauth/device_authorization', 'agent_name=Bot'],
  ['/oauth/token', 'grant_type=refresh_token&refresh_token=rt_x'],
  ['/oauth/revoke', 'token=rt_x'],
]

async function send(url: string, init: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, init)
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers }
}

/** Sends raw bytes and returns what comes back before the server closes the connection. */
function sendRaw(url: string, message: string): Promise<{ statusLine: string; body: any }> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(message))
    let received = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (received += chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const [head = '', body = ''] = received.split('\r\n\r\n')
      resolve({ statusLine: head.split('\r\n')[0]!, body: body ? JSON.parse(body) : undefined })
    })
  })
}

describe('protocol §7: limits and bad input', () => {
  let server: ProtocolServer
  let url: string

  beforeAll(async () => {
    server = await startProtocolServer()
    url = server.url
  })
  afterAll(() => server.dispose())

  describe.each(OAUTH_ENDPOINTS)('%s', (path, fine) => {
    it.each([
      ['a JSON body', 'application/json', '{"client_id":"countersign-agent"}', /^the body must be application\/x-www-form-urlencoded$/],
      ['a body that is not valid JSON under a JSON content type', 'application/json', '{"client_id":', /^the body is not valid JSON$/],
      ['a plain-text body', 'text/plain', 'client_id=countersign-agent', /^the body must be application\/x-www-form-urlencoded$/],
      ['a multipart body', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="client_id"\r\n\r\ncountersign-agent\r\n--x--', /^the body has a content type this endpoint does not accept$/],
      ['a body of an unknown type', 'application/x-made-up', 'client_id=countersign-agent', /^the body has a content type this endpoint does not accept$/],
    ])('answers 400 invalid_request to %s', async (_, type, body, description) => {
      expectOAuthError(await send(`${url}${path}`, { method: 'POST', headers: { 'content-type': type }, body }), 400, 'invalid_request', description)
    })

    it('answers 400 invalid_request to a request without a body', async () => {
      expectOAuthError(await send(`${url}${path}`, { method: 'POST' }), 400, 'invalid_request', /^the body must be application\/x-www-form-urlencoded$/)
    })

    it('answers 400 invalid_request to a repeated client_id', async () => {
      const answer = await send(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `${fine}&client_id=${CLIENT_ID}&client_id=${CLIENT_ID}` })
      expectOAuthError(answer, 400, 'invalid_request', /^the parameter client_id must not be repeated$/)
    })

    it('answers 400 invalid_request to a parameter longer than 4 KiB', async () => {
      const answer = await send(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `${fine}&${new URLSearchParams({ client_id: 'c'.repeat(5000) })}` })
      expectOAuthError(answer, 400, 'invalid_request', /^the parameter client_id is too long$/)
    })

    it('answers 413 with the error shape to a body over 64 KiB', async () => {
      const body = new URLSearchParams({ client_id: CLIENT_ID, padding: 'p'.repeat(64 * 1024) })
      const answer = await send(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
      expectOAuthError(answer, 413, 'invalid_request', /^the request body is larger than 64 KiB$/)
    })

    it('answers 404 with the error shape to a GET', async () => {
      expectOAuthError(await send(`${url}${path}`, { method: 'GET' }), 404, 'not_found', new RegExp(`^there is no GET ${path}$`))
    })
  })

  it('accepts a body just under 64 KiB', async () => {
    const padding = 'p'.repeat(64 * 1024 - 200)
    const answer = await send(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${CLIENT_ID}&grant_type=refresh_token&refresh_token=x&padding=${padding}` })
    expectOAuthError(answer, 400, 'invalid_grant', /unknown/)
  })

  it('answers 400 with the error shape to a URL that cannot be decoded', async () => {
    expectOAuthError(await send(`${url}/%E0%A4%A`, { method: 'GET' }), 400, 'invalid_request', /^the URL is not a valid URL: it has a malformed percent-encoding$/)
    expectOAuthError(await send(`${url}/oauth/%ZZtoken`, { method: 'POST' }), 400, 'invalid_request', /^the URL is not a valid URL: it has a malformed percent-encoding$/)
  })

  it('answers 400 with the error shape to a path part longer than 200 characters', async () => {
    expectOAuthError(await send(`${url}/api/approvals/${'B'.repeat(201)}`, { method: 'GET' }), 400, 'invalid_request', /^a part of the URL is longer than 200 characters$/)
  })

  it.each([
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    ['a Content-Length that is not a number', 'POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
    ['both Content-Length and chunked encoding', 'POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
  ])('answers %s with 400 in the error shape and closes the connection', async (_, message) => {
    const answer = await sendRaw(url, message)
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request')
    expect(answer.body).toEqual({ error: 'invalid_request', error_description: 'the request is not a valid HTTP message' })
  })

  it('answers a CONNECT (a request to a proxy) with 400 in the error shape and closes the connection, rather than dropping it unanswered', async () => {
    const answer = await sendRaw(url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request')
    expect(answer.body).toEqual({ error: 'invalid_request', error_description: 'CONNECT is not supported: this server is not a proxy' })
  })

  it('answers headers larger than the server accepts with 431 in the error shape', async () => {
    const answer = await sendRaw(url, `GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(20_000)}\r\n\r\n`)
    expect(answer.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large')
    expect(answer.body).toEqual({ error: 'invalid_request', error_description: 'the request headers are larger than the server accepts' })
    expect((await fetch(`${url}/.well-known/jwks.json`)).status).toBe(200)
  })

  it('answers 404 with the error shape to a path the server does not have', async () => {
    expectOAuthError(await send(`${url}/oauth/authorize?response_type=code`, { method: 'GET' }), 404, 'not_found', /^there is no GET \/oauth\/authorize$/)
  })

  describe('rate limits', () => {
    it('with the default limit, lets one developer start, approve and sign in a few dozen agents within a minute from one address', async () => {
      const fleet = await startProtocolServer()
      try {
        const statuses: number[] = []
        const owner = await fleet.owner()
        const started = []
        for (let i = 0; i < 40; i++) {
          const answer = await startApproval(fleet.url, { agent_name: `Fleet Agent ${i}`, agent_username: `fleet-agent-${i}` })
          statuses.push(answer.status)
          started.push(answer.body)
        }
        for (let round = 0; round < 3; round++) await owner.signIn()
        for (const approval of started) await owner.approve(approval.user_code)
        for (const approval of started) statuses.push((await pollToken(fleet.url, approval.device_code)).status)
        // Each agent logs in once more, as after a restart without its store.
        for (let i = 0; i < 40; i++) statuses.push((await startApproval(fleet.url, { username: `fleet-agent-${i}` })).status)
        expect(statuses).toHaveLength(120)
        expect(statuses.filter((status) => status !== 200)).toEqual([])
      } finally {
        await fleet.dispose()
      }
    })

    let limited: ProtocolServer
    let deviceCode: string

    beforeAll(async () => {
      limited = await startProtocolServer({ rateLimit: 3 })
      deviceCode = (await startRegistration(limited.url)).device_code
    })
    afterAll(() => limited.dispose())

    it('answers device authorization beyond the limit per minute with 429 and Retry-After', async () => {
      for (let i = 0; i < 2; i++) expect((await startApproval(limited.url, { agent_name: `Limited ${i}` })).status).toBe(200)
      const refused = await startApproval(limited.url, { agent_name: 'One Too Many' })
      expectOAuthError(refused, 429, 'too_many_requests', /^too many requests from this address/)
      const retryAfter = Number(refused.headers.get('retry-after'))
      expect(Number.isInteger(retryAfter)).toBe(true)
      expect(retryAfter).toBeGreaterThan(0)
      expect(retryAfter).toBeLessThanOrEqual(60)
    })

    it('never answers token polling with 429: it is paced by slow_down', async () => {
      const answers = []
      for (let i = 0; i < 20; i++) answers.push(await pollToken(limited.url, deviceCode))
      expect(answers.map((answer) => answer.status)).not.toContain(429)
      expectOAuthError(answers[0]!, 400, 'authorization_pending', /not been decided/)
      for (const answer of answers.slice(1)) expectOAuthError(answer, 400, 'slow_down', /poll at most every/)
      const parallel = await Promise.all(Array.from({ length: 20 }, () => pollToken(limited.url, deviceCode)))
      expect(parallel.map((answer) => answer.status)).not.toContain(429)
    })
  })
})
