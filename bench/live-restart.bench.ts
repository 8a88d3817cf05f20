/**
 * Time from a server restart to an open LiveSocket again. The reference
 * server runs in this process on a fixed port and data file; each trial
 * stops it (open sockets get 1001), starts it again at once, and waits for
 * the socket's next 'open'. The socket reconnects on its own with its
 * full-jitter backoff, so the figure is mostly the backoff delay drawn;
 * `stableAfterMs` is 1 s (instead of 10 s) so trials 1.2 s apart each start
 * the backoff over, as a restart after a long healthy connection does.
 *
 *   npm run bench -- live-restart
 *   node --import tsx bench/live-restart.bench.ts [trials]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { firstValueFrom, filter } from 'rxjs'
import { LiveSocket } from '../src/index.js'
import { createServer, type CountersignServer } from '../src/server/index.js'
import { signedInManager } from './live-support.js'
import { machine, sleep, summarize } from './server-support.js'

const TRIALS = Number(process.argv[2] ?? 20)

const dir = await mkdtemp(join(tmpdir(), 'countersign-bench-restart-'))
const dataFile = join(dir, 'server.json')
let server: CountersignServer = await createServer({ host: '127.0.0.1', port: 0, rateLimit: 1_000_000, dataFile })
const port = Number(new URL(server.url).port)
const wsUrl = `${server.url.replace(/^http/, 'ws')}/ws`
const auth = await signedInManager(server.url)

console.log(`server restart to open socket, ${TRIALS} trials per setting, server in this process; ${machine()}`)
console.log('| backoffBaseMs | server down (stop + start), p50 ms | restart → open p50 ms | p95 ms | max ms | listening → open p50 ms | p95 ms |')
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
try {
  for (const backoffBaseMs of [1000, 100]) {
    const socket = new LiveSocket({ url: wsUrl, auth }, { settings: { backoffBaseMs, stableAfterMs: 1000 } })
    const opened = () => firstValueFrom(socket.events$.pipe(filter((e) => e.type === 'open')))
    await opened()
    const down: number[] = []
    const total: number[] = []
    const afterListening: number[] = []
    for (let trial = 0; trial < TRIALS; trial++) {
      await sleep(1200)
      const next = opened()
      const stoppedAt = performance.now()
      await server.close()
      server = await createServer({ host: '127.0.0.1', port, rateLimit: 1_000_000, dataFile })
      const listeningAt = performance.now()
      await next
      const openAt = performance.now()
      down.push(listeningAt - stoppedAt)
      total.push(openAt - stoppedAt)
      afterListening.push(openAt - listeningAt)
    }
    await socket.close()
    const t = summarize(total)
    const l = summarize(afterListening)
    console.log(`| ${backoffBaseMs} | ${summarize(down).p50.toFixed(0)} | ${t.p50.toFixed(0)} | ${t.p95.toFixed(0)} | ${t.max.toFixed(0)} | ${l.p50.toFixed(0)} | ${l.p95.toFixed(0)} |`)
  }
} finally {
  auth.dispose()
  await server.close()
  await rm(dir, { recursive: true, force: true })
}
