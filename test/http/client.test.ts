import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createServer } from 'node:net'
import { AbortError, CountersignError, ErrorCodes, NetworkError } from '../../src/errors.js'
import { createHttpClient } from '../../src/http/client.js'
import { goodTokenOnly, startTinyServer, type TinyServer } from './support.js'

/** A token source that starts with a refused token and refreshes to the good one. */
function refreshingToGood() {
  const calls: string[] = []
  let token = 'stale'
  const tokenProvider = async (reason?: string) => {
    calls.push(reason ?? 'none')
    if (reason === 'unauthorized') token = 'good'
    return token
  }
  return { calls, tokenProvider, refreshes: () => calls.filter((c) => c === 'unauthorized').length }
}

let api: TinyServer
beforeAll(async () => {
  api = await startTinyServer(goodTokenOnly)
})
afterAll(async () => {
  await api.close()
})
afterEach(() => {
  api.requests.length = 0
})

describe('HTTP client: the token and the 401 retry', () => {
  it('sends the token as Bearer and resolves paths under the base URL, its path included', async () => {
    const http = createHttpClient({ baseUrl: `${api.url}/v1`, tokenProvider: async () => 'good' })
    const response = await http.fetch('/agent/me?x=1')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ path: '/v1/agent/me?x=1', body: '' })
    await (await http.fetch('items')).text()
    await (await http.fetch(new URL(`${api.url}/absolute`))).text()
    expect(api.requests.map((r) => [r.url, r.authorization])).toEqual([
      ['/v1/agent/me?x=1', 'Bearer good'],
      ['/v1/items', 'Bearer good'],
      ['/absolute', 'Bearer good'],
    ])
  })

  it('on a 401 asks for one refresh and sends the request again with the new token', async () => {
    const source = refreshingToGood()
    const http = createHttpClient({ baseUrl: api.url, tokenProvider: source.tokenProvider })
    const response = await http.fetch('/me')
    expect(response.status).toBe(200)
    expect(source.refreshes()).toBe(1)
    expect(api.requests.map((r) => r.authorization)).toEqual(['Bearer stale', 'Bearer good'])
  })

  it.each([
    ['a string', () => 'plain text', 'plain text'],
    ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'two' }), 'a=1&b=two'],
    ['a Blob', () => new Blob(['blob body']), 'blob body'],
    ['an ArrayBuffer', () => new TextEncoder().encode('buffer body').buffer, 'buffer body'],
    ['a typed array', () => new TextEncoder().encode('typed body'), 'typed body'],
  ])('sends %s body again, byte for byte, on the retry', async (_name, body, text) => {
    const http = createHttpClient({ baseUrl: api.url, tokenProvider: refreshingToGood().tokenProvider })
    const response = await http.fetch('/upload', { method: 'POST', body: body() })
    expect(response.status).toBe(200)
    expect(api.requests.map((r) => r.body.toString('utf8'))).toEqual([text, text])
  })

  it('sends a FormData body again on the retry', async () => {
    const form = new FormData()
    form.set('field', 'value')
    const http = createHttpClient({ baseUrl: api.url, tokenProvider: refreshingToGood().tokenProvider })
    expect((await http.fetch('/form', { method: 'POST', body: form })).status).toBe(200)
    expect(api.requests).toHaveLength(2)
    for (const request of api.requests) {
      expect(request.contentType).toMatch(/^multipart\/form-data; boundary=/)
      expect(request.body.toString('utf8')).toContain('name="field"\r\n\r\nvalue')
    }
  })

  it('does not send a stream body twice: refreshes, then rejects with UNAUTHORIZED saying to send again', async () => {
    const source = refreshingToGood()
    const http = createHttpClient({ baseUrl: api.url, tokenProvider: source.tokenProvider })
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed'))
        controller.close()
      },
    })
    const error = await http.fetch('/upload', { method: 'POST', body: stream, duplex: 'half' } as RequestInit).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({
      code: ErrorCodes.UNAUTHORIZED,
      status: 401,
      message: `POST ${api.url}/upload was refused with 401; the access token was refreshed, but the request body (a stream) cannot be sent twice: send the request again`,
    })
    expect(api.requests).toHaveLength(1)
    expect(source.refreshes()).toBe(1)
    // The refreshed token is there for the caller's next try.
    expect((await http.fetch('/upload', { method: 'POST', body: 'again' })).status).toBe(200)
  })

  it('replays a Request without a body, and not a Request with one', async () => {
    const http = createHttpClient({ baseUrl: api.url, tokenProvider: refreshingToGood().tokenProvider })
    expect((await http.fetch(new Request(`${api.url}/get`, { headers: { 'x-trace': '1' } }))).status).toBe(200)
    expect(api.requests.map((r) => r.authorization)).toEqual(['Bearer stale', 'Bearer good'])
    const other = createHttpClient({ baseUrl: api.url, tokenProvider: refreshingToGood().tokenProvider })
    await expect(other.fetch(new Request(`${api.url}/post`, { method: 'POST', body: 'x' }))).rejects.toMatchObject({ code: ErrorCodes.UNAUTHORIZED })
  })

  it('rejects with UNAUTHORIZED when the refreshed token is refused too, naming the server\'s reason', async () => {
    // A seed-style provider ignores the reason: it cannot force a refresh.
    const http = createHttpClient({ baseUrl: api.url, tokenProvider: async () => 'stale' })
    const error = await http.fetch('/me').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({
      code: ErrorCodes.UNAUTHORIZED,
      status: 401,
      oauthError: 'invalid_token',
      message: `GET ${api.url}/me was refused with 401 even with a refreshed access token (the token is not good)`,
    })
    expect(api.requests).toHaveLength(2)
  })

  it('rejects with the token source\'s own failure, and sends nothing', async () => {
    const refused = new CountersignError(ErrorCodes.TOKEN_REFRESH_FAILED, 'the session is over: log in again')
    const http = createHttpClient({ baseUrl: api.url, tokenProvider: async () => Promise.reject(refused) })
    await expect(http.fetch('/me')).rejects.toBe(refused)
    const sealed = new Error('vault sealed')
    const other = createHttpClient({ baseUrl: api.url, tokenProvider: async () => Promise.reject(sealed) })
    await expect(other.fetch('/me')).rejects.toBe(sealed)
    expect(api.requests).toHaveLength(0)
  })
})

describe("HTTP client: telling the token source a 401 was due to expiry ('expired') or not ('unauthorized')", () => {
  /** A JWT-shaped token with the given `exp` (unsigned: only its claims are read). */
  const jwtWithExp = (exp: number) => `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`
  /** Accepts `Bearer fresh` only; refuses anything else with `description` in its challenge. */
  async function refusing(description: string) {
    return startTinyServer((request, response) => {
      if (request.authorization === 'Bearer fresh') return void response.end('ok')
      response.writeHead(401, { 'www-authenticate': `Bearer error="invalid_token", error_description="${description}"` })
      response.end()
    })
  }
  /** A source that holds `first` and hands out 'fresh' when told the token expired or was refused. */
  function source(first: string, replaceOn: string[] = ['expired', 'unauthorized']) {
    const reasons: string[] = []
    let token = first
    const tokenProvider = async (reason?: string) => {
      reasons.push(reason ?? 'none')
      if (reason && replaceOn.includes(reason)) token = 'fresh'
      return token
    }
    return { reasons, tokenProvider }
  }

  it("passes 'expired' when the challenge's error_description says the token expired, and takes the source's new token", async () => {
    const server = await refusing('The access token expired')
    try {
      const { reasons, tokenProvider } = source('opaque-old')
      const response = await createHttpClient({ baseUrl: server.url, tokenProvider }).fetch('/me')
      expect(await response.text()).toBe('ok')
      expect(reasons).toEqual(['initial', 'expired'])
      expect(server.requests.map((r) => r.authorization)).toEqual(['Bearer opaque-old', 'Bearer fresh'])
    } finally {
      await server.close()
    }
  })

  it("passes 'expired' when the words are unsure but the token's own exp has passed", async () => {
    const server = await refusing('the access token is invalid or expired')
    try {
      const { reasons, tokenProvider } = source(jwtWithExp(Math.floor(Date.now() / 1000) - 5))
      expect((await createHttpClient({ baseUrl: server.url, tokenProvider }).fetch('/me')).status).toBe(200)
      expect(reasons).toEqual(['initial', 'expired'])
    } finally {
      await server.close()
    }
  })

  it("passes 'unauthorized' for a token that has not expired and words that do not say it did", async () => {
    const server = await refusing('the access token is invalid or expired')
    try {
      const { reasons, tokenProvider } = source(jwtWithExp(Math.floor(Date.now() / 1000) + 600))
      expect((await createHttpClient({ baseUrl: server.url, tokenProvider }).fetch('/me')).status).toBe(200)
      expect(reasons).toEqual(['initial', 'initial', 'unauthorized'])
    } finally {
      await server.close()
    }
  })

  it("forces the refresh with 'unauthorized' when the source answers 'expired' with the refused token", async () => {
    const server = await refusing('The access token expired')
    try {
      const { reasons, tokenProvider } = source('opaque-old', ['unauthorized'])
      expect((await createHttpClient({ baseUrl: server.url, tokenProvider }).fetch('/me')).status).toBe(200)
      expect(reasons).toEqual(['initial', 'expired', 'unauthorized'])
      expect(server.requests).toHaveLength(2)
    } finally {
      await server.close()
    }
  })
})

describe('HTTP client: other origins', () => {
  it('never sends the token to another origin, and does not retry its 401', async () => {
    const elsewhere = await startTinyServer(goodTokenOnly)
    try {
      const source = refreshingToGood()
      const http = createHttpClient({ baseUrl: api.url, tokenProvider: source.tokenProvider })
      const response = await http.fetch(`${elsewhere.url}/public`, { headers: { 'x-kept': 'yes' } })
      expect(response.status).toBe(401)
      expect(elsewhere.requests.map((r) => r.authorization)).toEqual([undefined])
      expect(source.calls).toEqual([])
    } finally {
      await elsewhere.close()
    }
  })

  it('keeps the token on our origin only across redirects (the platform fetch drops it on another origin)', async () => {
    const elsewhere = await startTinyServer((_request, response) => response.end('ok'))
    const redirecting = await startTinyServer((request, response) => {
      response.writeHead(302, { location: request.url === '/same' ? '/landing' : `${elsewhere.url}/landing` })
      response.end()
    })
    try {
      const http = createHttpClient({ baseUrl: redirecting.url, tokenProvider: async () => 'good' })
      await (await http.fetch('/away')).text()
      expect(elsewhere.requests.map((r) => r.authorization)).toEqual([undefined])
      await (await http.fetch('/same')).text().catch(() => {})
      expect(redirecting.requests.map((r) => [r.url, r.authorization])).toEqual([
        ['/away', 'Bearer good'],
        ['/same', 'Bearer good'],
        ['/landing', 'Bearer good'],
      ])
    } finally {
      await redirecting.close()
      await elsewhere.close()
    }
  })
})

describe('HTTP client: time limits, aborts and network faults', () => {
  it('rejects with NetworkError when no answer comes within timeoutMs', async () => {
    const silent = await startTinyServer(() => {})
    try {
      const http = createHttpClient({ baseUrl: silent.url, tokenProvider: async () => 'good', timeoutMs: 5000 })
      const error = await http.fetch('/slow', { timeoutMs: 50 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(NetworkError)
      expect(error).toMatchObject({ code: ErrorCodes.NETWORK_ERROR, message: `GET ${silent.url}/slow timed out after 50 ms` })
    } finally {
      await silent.close()
    }
  })

  it('the time limit covers reading the body too', async () => {
    const stalling = await startTinyServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' })
      response.write('first part, then nothing')
    })
    try {
      const http = createHttpClient({ baseUrl: stalling.url, tokenProvider: async () => 'good' })
      const response = await http.fetch('/stream', { timeoutMs: 100 })
      expect(response.status).toBe(200)
      const error = await response.text().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(NetworkError)
      expect(error).toMatchObject({ code: ErrorCodes.NETWORK_ERROR, message: `GET ${stalling.url}/stream timed out after 100 ms` })
    } finally {
      await stalling.close()
    }
  })

  it('bounds the wait for a token by the same time limit', async () => {
    const http = createHttpClient({ baseUrl: api.url, tokenProvider: () => new Promise<string>(() => {}), timeoutMs: 30 })
    await expect(http.fetch('/me')).rejects.toMatchObject({ name: 'NetworkError', code: ErrorCodes.NETWORK_ERROR, message: `GET ${api.url}/me timed out after 30 ms` })
  })

  it('rejects with AbortError when the caller aborts, before or during the request', async () => {
    const silent = await startTinyServer(() => {})
    try {
      const http = createHttpClient({ baseUrl: silent.url, tokenProvider: async () => 'good' })
      const controller = new AbortController()
      const pending = http.fetch('/slow', { signal: controller.signal, timeoutMs: 10_000 })
      setTimeout(() => controller.abort(new Error('user gave up')), 20)
      const error = await pending.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AbortError)
      expect(error).toMatchObject({ name: 'AbortError', code: ErrorCodes.ABORTED, message: `GET ${silent.url}/slow was aborted` })
      expect((error as Error).cause).toEqual(new Error('user gave up'))
      await expect(http.fetch('/slow', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: ErrorCodes.ABORTED })
    } finally {
      await silent.close()
    }
  })

  it('rejects with NetworkError naming the cause when nothing listens', async () => {
    const port = await freePort()
    const http = createHttpClient({ baseUrl: `http://127.0.0.1:${port}`, tokenProvider: async () => 'good' })
    const error = await http.fetch('/me').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect(error).toMatchObject({ code: ErrorCodes.NETWORK_ERROR, message: `GET http://127.0.0.1:${port}/me failed: ECONNREFUSED` })
    expect((error as Error).cause).toBeInstanceOf(TypeError)
  })
})

describe('HTTP client: misuse', () => {
  it('names the argument that is wrong', () => {
    const tokenProvider = async () => 'good'
    expect(() => createHttpClient(undefined as never)).toThrow(new TypeError('options must be an object { baseUrl, tokenProvider } or { baseUrl, auth }'))
    expect(() => createHttpClient({ baseUrl: '/relative', tokenProvider })).toThrow(new TypeError('options.baseUrl must be an absolute http(s) URL'))
    expect(() => createHttpClient({ baseUrl: 'ftp://h', tokenProvider })).toThrow(new TypeError('options.baseUrl must be an http(s) URL, not ftp:'))
    expect(() => createHttpClient({ baseUrl: api.url, tokenProvider, timeoutMs: 0 })).toThrow(new TypeError('options.timeoutMs must be a positive number of milliseconds'))
    // @ts-expect-error neither tokenProvider nor auth: the run-time check is for callers without types.
    expect(() => createHttpClient({ baseUrl: api.url })).toThrow(new TypeError('options.tokenProvider must be a function returning a Promise of the access token (or pass options.auth)'))
  })

  it('rejects (does not throw) for a bad input or init, as the platform fetch does, naming it, and sends nothing', async () => {
    const calls: string[] = []
    const http = createHttpClient({ baseUrl: api.url, tokenProvider: async (reason) => (calls.push(reason ?? 'none'), 'good') })
    const cases: Array<[() => Promise<Response>, string]> = [
      [() => http.fetch(42 as never), 'input must be a path, a URL or a Request'],
      [() => http.fetch('/me', null as never), 'init must be an object'],
      [() => http.fetch('/me', { timeoutMs: -1 }), 'init.timeoutMs must be a positive number of milliseconds'],
      [() => http.fetch('/me', { signal: {} as AbortSignal }), 'init.signal must be an AbortSignal'],
    ]
    for (const [call, message] of cases) {
      let pending: Promise<Response> | undefined
      expect(() => (pending = call())).not.toThrow()
      const error = await pending!.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TypeError)
      expect(error).toMatchObject({ message })
    }
    // The platform fetch behaves the same way: a rejected promise, never a throw.
    await expect(fetch(42 as never)).rejects.toBeInstanceOf(TypeError)
    expect(api.requests).toHaveLength(0)
    expect(calls).toEqual([])
  })
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
