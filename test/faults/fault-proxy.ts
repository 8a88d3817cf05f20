/**
 * The fault suite's proxy: forwards HTTP requests to the reference server and
 * spoils the ones a test picks, in the ways a real network does:
 * - `reset-before`: the connection is reset before the request reaches the server;
 * - `reset-after`: the server answered (and acted), the answer is lost to a reset;
 * - `truncate`: half of the answer's body arrives, then the connection is cut;
 * - `blackhole`: the request reaches the server and no answer ever comes back;
 * - `502` / `503`: a gateway's error page instead of the server's answer;
 * - `{ delayMs }`: the answer arrives, late.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type Fault = 'reset-before' | 'reset-after' | 'truncate' | 'blackhole' | 502 | 503 | { delayMs: number }

export interface FaultRequest {
  method: string
  path: string
  form: URLSearchParams
  headers: IncomingMessage['headers']
}

/** The server's answer to a request, as the proxy received it. */
export interface FaultAnswer {
  status: number
  body: string
}

export interface FaultProxy {
  readonly url: string
  /** Where requests go: the server's listening address. */
  target: string
  /** Picks the fault of each request, or null to pass it through untouched. */
  decide: (request: FaultRequest) => Fault | null
  /** What happened to each request, in order. */
  readonly log: Array<{ request: FaultRequest; fault: Fault | null; at: number }>
  /**
   * Called once the server has answered (and acted), before the answer goes on; the answer waits for the
   * promise it returns. A test holds an answer here to kill the client at exactly that moment.
   */
  hold: ((request: FaultRequest, answer: FaultAnswer) => Promise<void> | void) | null
  close(): Promise<void>
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => resolve(Buffer.concat(chunks)))
    stream.on('error', reject)
  })
}

const reset = (outgoing: ServerResponse) => (outgoing.socket as Socket | null)?.resetAndDestroy()

export async function startFaultProxy(): Promise<FaultProxy> {
  const sockets = new Set<Socket>()
  const proxy: FaultProxy = {
    url: '',
    target: '',
    decide: () => null,
    log: [],
    hold: null,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }

  async function handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const body = await readBody(incoming)
    const url = new URL(incoming.url ?? '/', 'http://proxy')
    const type = incoming.headers['content-type'] ?? ''
    const seen: FaultRequest = {
      method: incoming.method ?? 'GET',
      path: url.pathname,
      form: type.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(body.toString('utf8')) : new URLSearchParams(),
      headers: incoming.headers,
    }
    const fault = proxy.decide(seen)
    proxy.log.push({ request: seen, fault, at: Date.now() })
    if (fault === 'reset-before') return void reset(outgoing)
    if (fault === 502 || fault === 503) {
      outgoing.writeHead(fault, { 'content-type': 'text/html' })
      return void outgoing.end(`<html><body>${fault} from the gateway</body></html>`)
    }
    const target = new URL(proxy.target)
    const upstream = httpRequest({
      host: target.hostname,
      port: target.port,
      method: incoming.method,
      path: incoming.url,
      headers: { ...incoming.headers, host: target.host, 'content-length': String(body.length) },
    })
    outgoing.on('close', () => upstream.destroy())
    upstream.on('error', () => outgoing.destroy())
    upstream.end(body)
    const answer = await new Promise<IncomingMessage>((resolve) => upstream.on('response', resolve))
    const answerBody = await readBody(answer)
    if (proxy.hold !== null) await proxy.hold(seen, { status: answer.statusCode ?? 502, body: answerBody.toString('utf8') })
    if (fault === 'blackhole') return // the server acted; nothing comes back until the client gives up
    if (fault === 'reset-after') return void reset(outgoing)
    if (fault !== null && typeof fault === 'object') await new Promise((resolve) => setTimeout(resolve, fault.delayMs))
    if (outgoing.destroyed) return
    const headers = { ...answer.headers }
    if (fault === 'truncate') {
      outgoing.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': String(answerBody.length) })
      outgoing.write(answerBody.subarray(0, Math.floor(answerBody.length / 2)))
      return void setTimeout(() => outgoing.destroy(), 10)
    }
    outgoing.writeHead(answer.statusCode ?? 502, headers)
    outgoing.end(answerBody)
  }

  const server: Server = createServer((incoming, outgoing) => {
    handle(incoming, outgoing).catch((error: unknown) => { if (process.env.FAULT_DEBUG) console.error(error); outgoing.destroy() })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  ;(proxy as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return proxy
}

/** A small seeded generator, so that a failing run can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
}
