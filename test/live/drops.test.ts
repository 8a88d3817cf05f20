/**
 * Real connections dropped by the server. Against the small ws server, on
 * short backoff settings.
 */
import { afterEach, describe, expect, it } from 'vitest'
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
