/**
 * Real connections dropped by the server: closed with 1011, 1012 or 1013,
 * cut without a close frame (1006), or refused with a 5xx on upgrade. Each
 * is a drop: the socket backs off (full jitter under a doubling ceiling)
 * and reconnects by itself. Against the small ws server, on short backoff
 * settings.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { backoffCeilingMs } from '../../machines/socket.js'
import { encodeEcho } from '../../src/live/messages.js'
import { LiveSocket } from '../../src/live/socket.js'
import { eventually, record } from './support.js'
import { startWsServer, type TinyWsServer } from './ws-server.js'

const tokenProvider = async () => 'token-1'
const quick = { backoffBaseMs: 40, backoffMaxMs: 160 }
let server: TinyWsServer | null = null
afterEach(async () => {
  await server?.close()
  server = null
})

/** Ends a server-side connection the way `code` says: a close frame with it, or (1006) no close frame at all. */
function drop(ws: WebSocket, code: number): void {
  if (code === 1006) ws.terminate()
  else ws.close(code, `dropped with ${code}`)
}

describe('LiveSocket sends and a connection the server drops at once', () => {
  it('frames queued when a connection opens that is already closing wait for the next one instead of being written again and again', async () => {
    server = await startWsServer(async (upgrade) => {
      const ws = await upgrade.accept()
      if (upgrade.n === 1) ws.close(1012, 'restarting')
    })
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, settings: quick })
    const seen = record(socket)
    try {
      // Queued before the first connection opens: flushed the moment it does, as its close frame arrives.
      const ids = [0, 1, 2, 3, 4]
      const sends = ids.map((id) => socket.send(encodeEcho(id)))
      // A socket spinning on the closing connection would starve the event loop: this would never settle.
      await eventually(() => seen.of('open').length === 2, 'the second connection')
      await Promise.all(sends)
      await socket.send(encodeEcho('after'))
      await eventually(() => server!.received[1]!.includes(encodeEcho('after')), 'the frame after the drop')
      // Each frame arrived once at most: on the first connection before its close, or on the second.
      const arrived = server.received.flat().map((frame) => JSON.parse(frame).id)
      expect(arrived.at(-1)).toBe('after')
      expect(new Set(arrived).size).toBe(arrived.length)
      expect(seen.of('disconnected').map((d) => d.failure.closeCode)).toEqual([1012])
    } finally {
      await socket.close()
    }
  })
})

describe('LiveSocket on real connections the server drops', () => {
  it.each([1011, 1012, 1013, 1006])('a connection ended with %i backs off and reconnects by itself', async (code) => {
    const upgradedAt: number[] = []
    server = await startWsServer(async (upgrade) => {
      upgradedAt.push(Date.now())
      const ws = await upgrade.accept()
      if (upgrade.n === 1) setTimeout(() => drop(ws, code), 20)
    })
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, settings: quick, jitterSeed: 5 })
    const seen = record(socket)
    try {
      await eventually(() => seen.of('open').length === 2, 'the second connection')
      const [dropped] = seen.of('disconnected')
      expect(seen.of('disconnected')).toHaveLength(1)
      expect(dropped!.failure).toEqual({
        kind: 'dropped',
        closeCode: code,
        message: code === 1006 ? 'the connection closed with code 1006' : `the connection closed with code ${code}: dropped with ${code}`,
        at: expect.any(Number),
      })
      const delay = dropped!.retryAt! - dropped!.failure.at!
      expect(delay).toBeGreaterThanOrEqual(0)
      expect(delay).toBeLessThan(backoffCeilingMs(1, quick))
      // Not before the backoff's time: the second upgrade came at retryAt or later.
      expect(upgradedAt[1]).toBeGreaterThanOrEqual(dropped!.retryAt!)
      expect(seen.states).toEqual(['connecting', 'open', 'backingOff', 'connecting', 'open'])
      await socket.send('after the drop')
      await eventually(() => server!.received[1]!.length === 1, 'the frame on the new connection')
      expect(server.received[1]).toEqual(['after the drop'])
    } finally {
      await socket.close()
    }
  })

  it('drops in a row grow the backoff ceiling until a connection stays; what is sent then goes out on it', async () => {
    const codes = [1011, 1012, 1013, 1006]
    server = await startWsServer(async (upgrade) => {
      const ws = await upgrade.accept()
      const code = codes[upgrade.n - 1]
      if (code !== undefined) drop(ws, code)
    })
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, settings: quick, jitterSeed: 11 })
    const seen = record(socket)
    try {
      await eventually(() => seen.of('open').length === codes.length + 1, 'the connection that stays')
      const drops = seen.of('disconnected')
      expect(drops.map((d) => [d.failure.kind, d.failure.closeCode])).toEqual(codes.map((code) => ['dropped', code]))
      // Connections that did not stay open for stableAfterMs keep growing the ceiling: 40, 80, 160, 160 ms.
      drops.forEach((d, i) => expect(d.retryAt! - d.failure.at!).toBeLessThan(backoffCeilingMs(i + 1, quick)))
      expect(seen.states.filter((state) => state === 'backingOff')).toHaveLength(codes.length)
      await socket.send(encodeEcho('stays'))
      await eventually(() => server!.received[codes.length]!.length === 1, 'the frame')
      expect(server.received[codes.length]).toEqual([encodeEcho('stays')])
    } finally {
      await socket.close()
    }
  })

  // 500 and 502 on upgrade: handshake.test.ts.
  it.each([503, 504])('an upgrade answered %i backs off and tries again (a 5xx passes with time)', async (status) => {
    server = await startWsServer((upgrade) => (upgrade.n === 1 ? upgrade.refuse(status) : void upgrade.accept()))
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, settings: quick })
    const seen = record(socket)
    try {
      await eventually(() => socket.state === 'open', 'the second attempt')
      const [refused] = seen.of('disconnected')
      expect(refused!.failure).toMatchObject({ kind: 'dropped', status })
      expect(refused!.retryAt! - refused!.failure.at!).toBeLessThan(backoffCeilingMs(1, quick))
      expect(seen.states).toEqual(['connecting', 'backingOff', 'connecting', 'open'])
    } finally {
      await socket.close()
    }
  })
})
