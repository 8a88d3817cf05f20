/**
 * LiveSocket.close() against peers that answer the close frame and peers
 * that never do: it sends 1000, and terminates after `closeGraceMs` instead
 * of waiting for ws's own 30 s close timeout.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { LiveSocket } from '../../src/live/socket.js'
import { SimulatedClock } from '../support/simulated-clock.js'
import { eventually } from './support.js'
import { endedByClient, startWsServer, type TinyWsServer } from './ws-server.js'

const tokenProvider = async () => 'token-1'
let server: TinyWsServer | null = null
afterEach(async () => {
  await server?.close()
  server = null
})

/** Opcode of the first frame in `bytes` (0x8: close) and the close code it carries. */
function firstFrame(bytes: Buffer): { opcode: number; code: number } {
  const masked = (bytes[1]! & 0x80) !== 0
  const mask = masked ? bytes.subarray(2, 6) : Buffer.alloc(4)
  const payload = Buffer.from(bytes.subarray(masked ? 6 : 2).map((byte, i) => byte ^ mask[i % 4]!))
  return { opcode: bytes[0]! & 0x0f, code: payload.readUInt16BE(0) }
}

describe('LiveSocket.close()', () => {
  it('terminates the connection after closeGraceMs when the server never answers the close frame', async () => {
    server = await startWsServer((upgrade) => upgrade.acceptIgnoringFrames())
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, closeGraceMs: 150 })
    await eventually(() => socket.state === 'open', 'the connection')
    const started = performance.now()
    await socket.close()
    const took = performance.now() - started
    expect(took).toBeGreaterThanOrEqual(140)
    expect(took).toBeLessThan(2000)
    // The close frame went out first; then the client cut the TCP connection.
    expect(firstFrame(Buffer.concat(server.upgrades[0]!.raw))).toEqual({ opcode: 0x8, code: 1000 })
    await endedByClient(server.upgrades[0]!.socket)
    expect(await socket.closed).toMatchObject({ reason: 'closed' })
  })

  it('waits 2 s by default for the answer to the close frame, then terminates', async () => {
    server = await startWsServer((upgrade) => upgrade.acceptIgnoringFrames())
    const clock = new SimulatedClock()
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { clock, tokenCheckIntervalMs: false })
    await eventually(() => socket.state === 'open', 'the connection')
    let closed = false
    const closing = socket.close().then(() => (closed = true))
    await eventually(() => server!.upgrades[0]!.raw.length > 0, 'the close frame')
    await clock.advanceBy(1_999)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(closed).toBe(false)
    await clock.advanceBy(1)
    await closing
    expect(clock.pendingTimers).toBe(0)
  })

  it('resolves as soon as a server that answers the close frame has done so, without waiting for the grace', async () => {
    const codes: number[] = []
    server = await startWsServer(async (upgrade) => (await upgrade.accept()).on('close', (code) => codes.push(code)))
    const clock = new SimulatedClock()
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { clock, tokenCheckIntervalMs: false, closeGraceMs: 60_000 })
    await eventually(() => socket.state === 'open', 'the connection')
    await socket.close()
    await eventually(() => codes.length === 1, 'the close at the server')
    expect(codes).toEqual([1000])
    // The grace timer was cleared with the connection: nothing is left to fire.
    expect(clock.pendingTimers).toBe(0)
  })

  it('names a bad closeGraceMs', () => {
    for (const closeGraceMs of [0, -1, Number.NaN, '100']) {
      expect(() => new LiveSocket({ url: 'ws://127.0.0.1:9/ws', tokenProvider }, { closeGraceMs: closeGraceMs as number })).toThrow(new TypeError('options.closeGraceMs must be a positive number of milliseconds'))
    }
  })
})
