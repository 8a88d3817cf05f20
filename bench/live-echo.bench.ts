/**
 * Echo round trips per second through a LiveSocket and through a bare `ws`
 * client, in the same run, against the reference server in its own process
 * (protocol §5 echo). Both parse each reply as JSON and match it by id. The
 * clients take turns, several rounds each, and the median round counts, so
 * drift of the machine hits both alike.
 *
 *   npm run bench -- live-echo
 *   node --import tsx bench/live-echo.bench.ts [seconds per round] [rounds]
 */
import { WebSocket } from 'ws'
import { LiveSocket, encodeEcho, type AuthManager } from '../src/index.js'
import { startServerProcess, signedInManager } from './live-support.js'
import { machine } from './server-support.js'

const SECONDS = Number(process.argv[2] ?? 3)
const ROUNDS = Number(process.argv[3] ?? 5)
const WINDOWS = [1, 32]

/** A client as the bench drives it: send one echo, and be told each reply's id, or that a send failed. */
interface EchoClient {
  send(text: string): void
  onReply(handler: (id: number) => void): void
  /** A send that was not written: no reply will come for it. */
  onSendFailed(handler: (error: unknown) => void): void
  close(): Promise<void>
}

async function bareClient(wsUrl: string, token: string): Promise<EchoClient> {
  const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } })
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('close', (code) => reject(new Error(`closed with ${code}`)))
  })
  let handler: (id: number) => void = () => {}
  let failed: (error: unknown) => void = () => {}
  ws.on('message', (data) => handler((JSON.parse(String(data)) as { id: number }).id))
  return {
    send: (text) => ws.send(text, (error) => error && failed(error)),
    onReply: (h) => (handler = h),
    onSendFailed: (h) => (failed = h),
    close: async () => {
      ws.close(1000)
      await new Promise((resolve) => ws.once('close', resolve))
    },
  }
}

async function liveClient(wsUrl: string, auth: AuthManager): Promise<EchoClient> {
  const socket = new LiveSocket({ url: wsUrl, auth })
  let handler: (id: number) => void = () => {}
  let failed: (error: unknown) => void = () => {}
  socket.messages$.subscribe((message) => {
    if (message.kind === 'echo') handler(message.id as number)
  })
  await new Promise<void>((resolve) => {
    const subscription = socket.state$.subscribe((state) => state === 'open' && (subscription?.unsubscribe(), resolve()))
  })
  return {
    // The bench counts round trips; a send's own promise is not awaited, as with ws.send, but its rejection is counted.
    send: (text) => void socket.send(text).catch((error: unknown) => failed(error)),
    onReply: (h) => (handler = h),
    onSendFailed: (h) => (failed = h),
    close: () => socket.close(),
  }
}

interface Sample {
  /** Round trips per second. */
  rate: number
  /** CPU time of this (the client's) process per round trip, µs. */
  cpuUs: number
  /** Sends that failed (no round trip), and the first failure. */
  failed: number
  firstFailure: unknown
}

/** Round trips per second with `window` echoes in flight for `seconds`, and the client's CPU time per round trip. */
async function measure(client: EchoClient, window: number, seconds: number): Promise<Sample> {
  let next = 0
  let done = 0
  let failed = 0
  let firstFailure: unknown = null
  const cpuBefore = process.cpuUsage()
  const startedAt = performance.now()
  const endAt = startedAt + seconds * 1000
  await new Promise<void>((resolve) => {
    let inFlight = 0
    const fill = () => {
      while (inFlight < window && performance.now() < endAt) {
        client.send(encodeEcho(next++))
        inFlight++
      }
      if (inFlight === 0) resolve()
    }
    client.onReply(() => {
      done++
      inFlight--
      fill()
    })
    // A failed send gets no reply: it leaves the window, so the round ends instead of waiting for it.
    client.onSendFailed((error) => {
      failed++
      firstFailure ??= error
      inFlight--
      fill()
    })
    fill()
  })
  const cpu = process.cpuUsage(cpuBefore)
  return { rate: done / ((performance.now() - startedAt) / 1000), cpuUs: (cpu.user + cpu.system) / Math.max(done, 1), failed, firstFailure }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const server = await startServerProcess()
try {
  const auth = await signedInManager(server.url)
  const token = await auth.tokenProvider()
  const bare = await bareClient(server.wsUrl, token)
  const live = await liveClient(server.wsUrl, auth)
  // Warm-up of both paths (JIT, buffers).
  await measure(bare, 32, 1)
  await measure(live, 32, 1)
  console.log(`echo round trips, ${SECONDS} s per round, ${ROUNDS} rounds per client, server in its own process; ${machine()}`)
  console.log('| in flight | bare ws round trips/s | LiveSocket round trips/s | LiveSocket / bare | client CPU per round trip, bare / LiveSocket (µs) |')
  console.log('| ---: | ---: | ---: | ---: | ---: |')
  for (const window of WINDOWS) {
    const bareSamples: Sample[] = []
    const liveSamples: Sample[] = []
    for (let round = 0; round < ROUNDS; round++) {
      bareSamples.push(await measure(bare, window, SECONDS))
      liveSamples.push(await measure(live, window, SECONDS))
    }
    const b = median(bareSamples.map((s) => s.rate))
    const l = median(liveSamples.map((s) => s.rate))
    const cpu = `${median(bareSamples.map((s) => s.cpuUs)).toFixed(1)} / ${median(liveSamples.map((s) => s.cpuUs)).toFixed(1)}`
    console.log(`| ${window} | ${Math.round(b)} | ${Math.round(l)} | ${((l / b) * 100).toFixed(1)} % | ${cpu} |`)
    for (const [name, samples] of [['bare ws', bareSamples], ['LiveSocket', liveSamples]] as const) {
      const failures = samples.reduce((sum, sample) => sum + sample.failed, 0)
      if (failures === 0) continue
      const first = samples.find((sample) => sample.failed > 0)!.firstFailure
      // Failed sends make the round trips of that row not comparable: say so, and fail the run.
      console.error(`${name}, ${window} in flight: ${failures} sends failed (first: ${first instanceof Error ? first.message : String(first)})`)
      process.exitCode = 1
    }
  }
  await bare.close()
  await live.close()
  auth.dispose()
} finally {
  await server.stop()
}
