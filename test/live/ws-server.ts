/**
 * A small real WebSocket server for the cases the reference server does not
 * produce: upgrades answered with any status or never, pings left
 * unanswered, frames that are not JSON. Each upgrade request is handed to
 * `onUpgrade` with its number (1-based), which answers it as it likes.
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

export interface Upgrade {
  n: number
  request: IncomingMessage
  socket: Socket
  /** Completes the upgrade; the connection's frames, pings and close are recorded. */
  accept(): Promise<WebSocket>
  /**
   * Completes the upgrade by hand and then ignores every frame, the close
   * frame included: a peer that never answers a close. The bytes it gets are
   * kept in `raw`.
   */
  acceptIgnoringFrames(): void
  /** Bytes received after acceptIgnoringFrames(). */
  raw: Buffer[]
  /** Answers with an HTTP status (and `headers`) instead of upgrading, leaving the TCP connection open for the client to end. */
  refuse(status: number, headers?: Record<string, string>): void
}

export interface TinyWsServer {
  url: string
  upgrades: Upgrade[]
  /** Sockets accepted, in order. */
  accepted: WebSocket[]
  /** Text of the frames received, per accepted socket. */
  received: string[][]
  pings: number
  close(): Promise<void>
}

export async function startWsServer(onUpgrade: (upgrade: Upgrade) => void, options: { autoPong?: boolean } = {}): Promise<TinyWsServer> {
  const wss = new WebSocketServer({ noServer: true, autoPong: options.autoPong ?? true })
  const http = createServer()
  const self: TinyWsServer = { url: '', upgrades: [], accepted: [], received: [], pings: 0, close: async () => {} }
  http.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {})
    const upgrade: Upgrade = {
      n: self.upgrades.length + 1,
      request,
      socket,
      accept: () =>
        new Promise((resolve) => {
          wss.handleUpgrade(request, socket, head, (ws) => {
            const frames: string[] = []
            self.accepted.push(ws)
            self.received.push(frames)
            ws.on('error', () => {})
            ws.on('message', (data, isBinary) => frames.push(isBinary ? `binary:${Buffer.from(data as Buffer).toString('hex')}` : String(data)))
            ws.on('ping', () => self.pings++)
            resolve(ws)
          })
        }),
      raw: [],
      acceptIgnoringFrames: () => {
        const key = String(request.headers['sec-websocket-key'])
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
        socket.on('data', (chunk: Buffer) => upgrade.raw.push(chunk))
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`)
      },
      refuse: (status, headers = {}) => {
        const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
        socket.write(`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: 2\r\n${extra}\r\n{}`)
      },
    }
    self.upgrades.push(upgrade)
    onUpgrade(upgrade)
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  self.url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`
  self.close = async () => {
    for (const ws of wss.clients) ws.terminate()
    for (const upgrade of self.upgrades) upgrade.socket.destroy()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  }
  return self
}

/** Resolves once the client has ended the TCP connection of an upgrade (its FIN arrived, or the socket closed). */
export function endedByClient(socket: Socket): Promise<void> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve()
  return new Promise((resolve) => {
    socket.once('end', () => resolve())
    socket.once('close', () => resolve())
  })
}
