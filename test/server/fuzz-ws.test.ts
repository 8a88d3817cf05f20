/**
 * Protocol §5 and §7, property-based: 1,000 malformed `/ws` upgrade
 * handshakes over real sockets (odd methods, paths, query strings, Upgrade
 * and Connection headers, missing or garbled Authorization, bad
 * Sec-WebSocket-Key and -Version, bytes HTTP does not allow). None is
 * answered with a 5xx or left unanswered; only a well-formed handshake with
 * a good token is upgraded; the server is healthy after.
 */
import { connect } from 'node:net'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { headerValue, oddString, percentEncode } from './fuzz-arbitraries.js'
import { WsClient, startResourceServer, type Login, type ResourceServer } from './resource-support.js'

const RUNS = 1000
const GOOD_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
/** Statuses an upgrade may be refused with: the documented ones, 426 (no upgrade asked for) and 431 (headers too large). */
const REFUSALS = [400, 401, 403, 404, 413, 426, 429, 431]

interface Handshake {
  method: string
  path: string
  headers: Array<[string, string]>
  /** Whether this is a correct upgrade request with the good token: the one kind that must be upgraded. */
  good: boolean
  /** Whether its (first) Authorization header carries the good token: without that, it must never be upgraded. */
  authorized: boolean
}

/** A header value, or one with bytes HTTP forbids in it (CR, LF, NUL, non-ASCII), which the parser must refuse. */
const rawValue = fc.oneof(
  { weight: 6, arbitrary: headerValue },
  { weight: 1, arbitrary: fc.constantFrom('a\rb', 'a\nX-Injected: 1', 'a\u0000b', 'caf\u00e9', '\u202e', 'a\u007fb') },
)

function handshake(login: Login): fc.Arbitrary<Handshake> {
  const bearer = `Bearer ${login.accessToken}`
  const [header, payload] = login.accessToken.split('.') as [string, string, string]
  const authorization = fc.oneof(
    { weight: 4, arbitrary: fc.constant(bearer) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer ', `bearer ${login.accessToken}`, `Bearer  ${login.accessToken}`, `Basic ${Buffer.from('a:b').toString('base64')}`, `Bearer ${header}.${payload}.`, `Bearer ${login.accessToken}x`, `Bearer ${login.refreshToken}`, `${bearer}, ${bearer}`) },
    { weight: 2, arbitrary: rawValue.map((value) => `Bearer ${value}`) },
    { weight: 1, arbitrary: rawValue },
  )
  const key = fc.oneof(
    { weight: 4, arbitrary: fc.constant(GOOD_KEY) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom('', 'short', 'dGhlIHNhbXBsZSBub25jZQ', 'dGhlIHNhbXBsZSBub25jZQ===', '!!!!!!!!!!!!!!!!!!!!!!==', 'x'.repeat(200)) },
    { weight: 1, arbitrary: rawValue },
  )
  const version = fc.oneof(
    { weight: 4, arbitrary: fc.constant('13') },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom('8', '12', '14', '0', '-13', '13, 8', ' 13', '1.3', '99999999999999999999') },
    { weight: 1, arbitrary: rawValue },
  )
  const upgrade = fc.oneof({ weight: 5, arbitrary: fc.constant('websocket') }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom('WebSocket', 'h2c', 'websocket, h2c', '', 'TLS/1.0') }, { weight: 1, arbitrary: rawValue })
  const connection = fc.oneof({ weight: 5, arbitrary: fc.constant('Upgrade') }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom('keep-alive, Upgrade', 'close', 'keep-alive', 'upgrade', '') }, { weight: 1, arbitrary: rawValue })
  const extra = fc.array(
    fc.oneof(
      fc.tuple(fc.constantFrom('Sec-WebSocket-Protocol', 'Sec-WebSocket-Extensions', 'Origin', 'Cookie', 'Content-Length', 'Transfer-Encoding', 'Authorization', 'Sec-WebSocket-Key', 'X-Made-Up'), rawValue),
      fc.tuple(fc.constantFrom('Sec-WebSocket-Extensions'), fc.constantFrom('permessage-deflate; client_max_window_bits', 'permessage-deflate; server_max_window_bits=99', 'x-unknown')),
    ),
    { maxLength: 2 },
  )
  const query = fc.array(fc.tuple(oddString, oddString), { maxLength: 3 }).map((pairs) => pairs.map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`).join('&'))
  const path = fc.oneof(
    { weight: 6, arbitrary: fc.constant('/ws') },
    { weight: 2, arbitrary: query.map((q) => `/ws?${q}`) },
    { weight: 1, arbitrary: fc.constantFrom('/ws/', '/WS', '/ws%00', '//ws', '/ws/../ws', '/ws#x', '*', 'http://127.0.0.1/ws', '/ws?access_token=x', `/ws?${'q'.repeat(9000)}`) },
  )
  return fc
    .record({
      method: fc.oneof({ weight: 8, arbitrary: fc.constant('GET') }, { weight: 1, arbitrary: fc.constantFrom('POST', 'PUT', 'HEAD', 'OPTIONS', 'CONNECT', 'get', 'G3T', 'PRI') }),
      path,
      authorization,
      key,
      version,
      upgrade,
      connection,
      extra,
    })
    .map(({ method, path: target, authorization: auth, key: wsKey, version: wsVersion, upgrade: up, connection: conn, extra: more }) => {
      const headers: Array<[string, string]> = [['Host', '127.0.0.1']]
      const add = (name: string, value: string | undefined) => value !== undefined && headers.push([name, value])
      add('Upgrade', up)
      add('Connection', conn)
      add('Sec-WebSocket-Key', wsKey)
      add('Sec-WebSocket-Version', wsVersion)
      add('Authorization', auth)
      headers.push(...more)
      const good = method === 'GET' && target === '/ws' && up === 'websocket' && conn === 'Upgrade' && wsKey === GOOD_KEY && wsVersion === '13' && auth === bearer && more.length === 0
      // Node keeps the first of repeated Authorization headers and drops the others.
      const credential = headers.find(([name]) => name === 'Authorization')?.[1]
      const authorized = credential !== undefined && /^bearer +/i.test(credential) && credential.replace(/^bearer +/i, '') === login.accessToken
      return { method, path: target, headers, good, authorized }
    })
}

interface RawAnswer {
  status: number
  head: string
  body: string
}

/** Sends a handshake over a new TCP connection and reads the answer: its head, and its body when it has one. */
function sendHandshake(url: string, request: Handshake): Promise<RawAnswer> {
  const { hostname, port } = new URL(url)
  const text = `${request.method} ${request.path} HTTP/1.1\r\n${request.headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(Buffer.from(text, 'latin1')))
    let received = Buffer.alloc(0)
    const timer = setTimeout(() => finish(new Error(`no answer within 5 s to ${text.slice(0, 300)}`)), 5000)
    const finish = (error?: Error) => {
      clearTimeout(timer)
      socket.destroy()
      if (error) return reject(error)
      const raw = received.toString('latin1')
      const end = raw.indexOf('\r\n\r\n')
      const head = end === -1 ? raw : raw.slice(0, end)
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
      resolve({ status, head, body: end === -1 ? '' : raw.slice(end + 4) })
    }
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const raw = received.toString('latin1')
      const end = raw.indexOf('\r\n\r\n')
      if (end === -1) return
      // The answer is complete at the end of its head (an upgrade, an answer to HEAD), of its length, or of its last chunk.
      if (/^HTTP\/1\.1 101 /.test(raw) || request.method === 'HEAD') return finish()
      const length = /\r\ncontent-length: *(\d+)/i.exec(raw.slice(0, end))
      if (length && received.length >= end + 4 + Number(length[1])) finish()
      if (!length && /\r\ntransfer-encoding: *chunked/i.test(raw.slice(0, end)) && raw.endsWith('\r\n0\r\n\r\n')) finish()
    })
    socket.on('error', () => {})
    socket.on('close', () => finish())
  })
}

describe('bad /ws upgrade handshakes (property-based, real sockets)', () => {
  let server: ResourceServer
  let login: Login

  beforeAll(async () => {
    server = await startResourceServer({ accessTtl: 600, rateLimit: 1_000_000 })
    login = await server.register()
  })
  afterAll(() => server.dispose())

  it('answers 1,000 of them without a 5xx: a refusal for every bad one, the upgrade only for a good one', async () => {
    const seen = new Set<number>()
    await fc.assert(
      fc.asyncProperty(handshake(login), async (request) => {
        const answer = await sendHandshake(server.url, request)
        const where = `${request.method} ${request.path.slice(0, 100)} ${JSON.stringify(request.headers).slice(0, 300)}`
        seen.add(answer.status)
        expect(answer.status, `${where} answered ${answer.head.slice(0, 200)}`).toBeGreaterThanOrEqual(101)
        expect(answer.status, where).toBeLessThan(500)
        if (request.good) {
          expect(answer.status, where).toBe(101)
          return
        }
        if (answer.status === 101) {
          expect(request.authorized, `${where} was upgraded without the good token`).toBe(true)
          return
        }
        // Elsewhere (`/ws/`, `*`, ...) some other route may answer, a console page even; at /ws itself only a refusal.
        if (/^\/ws(\?|$)/.test(request.path)) expect(REFUSALS, `${where} answered ${answer.head.slice(0, 200)}`).toContain(answer.status)
        if (request.method !== 'HEAD' && /\r\ncontent-type: application\/json/i.test(answer.head)) {
          const body = JSON.parse(answer.body)
          expect(Object.keys(body).sort(), where).toEqual(['error', 'error_description'])
        }
      }),
      { numRuns: RUNS },
    )
    // The handshakes reached the checks behind the parser: refusals of the token, of the handshake, and upgrades.
    expect([...seen].sort()).toEqual(expect.arrayContaining([101, 400, 401]))
  })

  it('is healthy afterwards: a good client connects and gets its echo', async () => {
    const client = await WsClient.open(server.wsUrl, login.accessToken)
    expect(await client.ask({ type: 'echo', id: 1, data: 'still here' })).toEqual({ type: 'echo', id: 1, data: 'still here' })
    client.close()
    expect((await fetch(`${server.url}/api/agent/me`, { headers: { authorization: `Bearer ${login.accessToken}` } })).status).toBe(200)
  })
})
