import { afterEach, describe, expect, it } from 'vitest'
import { LiveSocket } from '../../src/live/socket.js'
import { eventually, record } from './support.js'
import { startWsServer, type TinyWsServer } from './ws-server.js'

let server: TinyWsServer | null = null
afterEach(async () => {
  await server?.close()
  server = null
})

const tokenProvider = async () => 'token-1'
const heartbeat = { pingIntervalMs: 40, maxMissedPongs: 2, backoffBaseMs: 10, backoffMaxMs: 20 }
/** Roomier, for the cases where answers must arrive in time even on a busy machine. */
const patient = { ...heartbeat, pingIntervalMs: 150 }

describe('LiveSocket heartbeat', () => {
  it('terminates a connection whose server stops answering pings after two missed pongs, then reconnects', async () => {
    server = await startWsServer((upgrade) => void upgrade.accept(), { autoPong: false })
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, settings: heartbeat })
    const seen = record(socket)
    await eventually(() => seen.of('open').length === 2, 'the second connection')
    const [dead] = server.accepted
    const closed = await new Promise<number>((resolve) => (dead!.readyState === dead!.CLOSED ? resolve(1006) : dead!.once('close', (code) => resolve(code))))
    // Terminated, not closed: no close frame reached the server.
    expect(closed).toBe(1006)
    expect(server.pings).toBeGreaterThanOrEqual(2)
    expect(seen.of('disconnected')[0]!.failure).toEqual({ kind: 'dropped', message: '2 pings went unanswered: the connection is dead', at: expect.any(Number) })
    await socket.close()
  })

  it('keeps a connection whose server answers its pings', async () => {
    server = await startWsServer((upgrade) => void upgrade.accept(), { autoPong: true })
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, settings: patient })
    const seen = record(socket)
    await eventually(() => server!.pings >= 6, 'six pings')
    expect(seen.of('open')).toHaveLength(1)
    expect(seen.of('disconnected')).toHaveLength(0)
    expect(socket.state).toBe('open')
    await socket.close()
  })

  it('counts any frame from the server as a sign of life', async () => {
    server = await startWsServer(async (upgrade) => {
      const ws = await upgrade.accept()
      const chatter = setInterval(() => ws.send('{"type":"tick"}'), 20)
      ws.on('close', () => clearInterval(chatter))
    }, { autoPong: false })
    const socket = new LiveSocket({ url: server.url, tokenProvider }, { tokenCheckIntervalMs: false, settings: patient })
    const seen = record(socket)
    await eventually(() => server!.pings >= 5, 'five pings')
    expect(seen.of('disconnected')).toHaveLength(0)
    await socket.close()
  })
})
