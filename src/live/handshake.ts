/**
 * One WebSocket handshake on `ws`, with its pitfalls handled:
 * - an 'error' listener is attached first and never removed (an error
 *   without a listener would crash the process);
 * - a non-101 answer arrives as 'unexpected-response': its status is read,
 *   then the socket is terminated, or it would stay CONNECTING for good;
 * - an abort (the caller closed, or the handshake timed out) terminates the
 *   socket, also while it is still CONNECTING;
 * - a socket is never reused: every attempt is a new instance.
 */
import { WebSocket, type ClientOptions } from 'ws'
import { challengeParams } from '../http/challenge.js'

/** Why a handshake failed, in the shape the LiveSocket statechart reads (socket.policy connectionFailureOf). */
export interface HandshakeFailure {
  message: string
  /** HTTP status of a refused upgrade. */
  status?: number
  /** The `error_description` of a refused upgrade's Bearer challenge (WWW-Authenticate), when it has one. */
  description?: string
  at: number
}

export interface HandshakeOptions {
  url: string
  token: string
  /** Options passed to ws; the Authorization header is always ours. */
  webSocket?: ClientOptions
  signal: AbortSignal
  now: () => number
  /**
   * Called inside the 'open' event, before the promise settles: frames that
   * came with the 101 answer are emitted before a promise continuation would
   * run, so the caller's listeners must be on by then.
   */
  attach(ws: WebSocket): void
}

/** Resolves with the open socket; rejects with a HandshakeFailure. The token travels only in the header. */
export function openWebSocket(options: HandshakeOptions): Promise<WebSocket> {
  const { url, token, signal, now } = options
  return new Promise<WebSocket>((resolve, reject) => {
    if (signal.aborted) {
      reject({ message: 'the connection attempt was cancelled', at: now() } satisfies HandshakeFailure)
      return
    }
    const headers = { ...(options.webSocket?.headers ?? {}), authorization: `Bearer ${token}` }
    const ws = new WebSocket(url, { ...options.webSocket, headers, followRedirects: false })
    let settled = false
    const fail = (failure: Omit<HandshakeFailure, 'at'>) => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      reject({ ...failure, at: now() } satisfies HandshakeFailure)
    }
    const onAbort = () => {
      // Also after 'open': a socket the caller did not take must not stay open.
      ws.terminate()
      fail({ message: 'the connection attempt was cancelled' })
    }
    ws.on('error', (error: Error) => fail({ message: error.message || 'the WebSocket failed' }))
    ws.on('unexpected-response', (request, response) => {
      const status = response.statusCode ?? 0
      const challenge = response.headers['www-authenticate']
      const description = challengeParams(Array.isArray(challenge) ? challenge.join(', ') : (challenge ?? null))?.error_description
      response.resume()
      fail({ message: `the server refused the WebSocket upgrade with HTTP ${status}`, status, ...(description ? { description } : {}) })
      request.destroy()
      ws.terminate()
    })
    ws.once('open', () => {
      if (settled) return
      settled = true
      options.attach(ws)
      // The abort listener stays: an open socket abandoned before the caller took it is terminated.
      resolve(ws)
    })
    ws.once('close', (code: number) => fail({ message: `the connection closed with code ${code} during the handshake` }))
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
