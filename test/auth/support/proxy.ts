/**
 * Test support: a small HTTP proxy in front of the reference server. The
 * server is started with `issuer: proxy.url`, so discovery names endpoints on
 * the proxy and every request of an agent passes through it. A test can count
 * what reaches the server, and hold a request or its answer (to kill the
 * agent while the request is in flight).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ProxiedRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
  form: URLSearchParams
}

export interface ProxiedAnswer {
  status: number
  body: string
}

export interface Proxy {
  readonly url: string
  /** Every request forwarded to the server, in order. */
  readonly requests: ProxiedRequest[]
  /** Where requests go: the server's listening address. */
  target: string
  /** Runs before an answer is passed back; the answer waits for it. */
  beforeAnswer: ((request: ProxiedRequest, answer: ProxiedAnswer) => Promise<void> | void) | null
  count(predicate: (request: ProxiedRequest) => boolean): number
  close(): Promise<void>
}

export const isRefreshGrant = (request: ProxiedRequest) => request.path === '/oauth/token' && request.form.get('grant_type') === 'refresh_token'
export const isDeviceAuthorization = (request: ProxiedRequest) => request.path === '/oauth/device_authorization'
export const isDeviceCodePoll = (request: ProxiedRequest) =>
  request.path === '/oauth/token' && request.form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:device_code'

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => resolve(Buffer.concat(chunks)))
    stream.on('error', reject)
  })
}

export async function startProxy(): Promise<Proxy> {
  const sockets = new Set<import('node:net').Socket>()
  const proxy: Proxy = {
    url: '',
    requests: [],
    target: '',
    beforeAnswer: null,
    count: (predicate) => proxy.requests.filter(predicate).length,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }

  async function handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const body = await readBody(incoming)
    const url = new URL(incoming.url ?? '/', 'http://proxy')
    const type = incoming.headers['content-type'] ?? ''
    const seen: ProxiedRequest = {
      method: incoming.method ?? 'GET',
      path: url.pathname,
      headers: incoming.headers,
      form: type.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(body.toString('utf8')) : new URLSearchParams(),
    }
    proxy.requests.push(seen)
    const target = new URL(proxy.target)
    const upstream = httpRequest({
      host: target.hostname,
      port: target.port,
      method: incoming.method,
      path: incoming.url,
      headers: { ...incoming.headers, host: target.host, 'content-length': String(body.length) },
    })
    // An agent that goes away (killed, or its request aborted) takes its upstream request with it.
    outgoing.on('close', () => upstream.destroy())
    upstream.on('error', () => outgoing.destroy())
    upstream.end(body)
    const answer = await new Promise<IncomingMessage>((resolve) => upstream.on('response', resolve))
    const answerBody = await readBody(answer)
    await proxy.beforeAnswer?.(seen, { status: answer.statusCode ?? 502, body: answerBody.toString('utf8') })
    if (outgoing.destroyed) return
    outgoing.writeHead(answer.statusCode ?? 502, answer.headers)
    outgoing.end(answerBody)
  }

  const server: Server = createServer((incoming, outgoing) => {
    handle(incoming, outgoing).catch(() => outgoing.destroy())
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  ;(proxy as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return proxy
}
