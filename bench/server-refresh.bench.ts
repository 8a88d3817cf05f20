/**
 * Refresh-grant throughput of the reference server on loopback. A refresh
 * token is single use, so each of N concurrent clients holds its own login
 * (token family) and presents the token its previous refresh returned. The
 * server keeps its data in a real file and saves before it answers, as
 * `countersign serve` does.
 *
 *   npm run bench -- server-refresh
 *   node --import tsx bench/server-refresh.bench.ts [seconds per level] [levels, e.g. 1,8,32,64]
 */
import { CLIENT_ID, loggedInAgent, machine, postForm, startBenchServer, summarize } from './server-support.js'

const SECONDS = Number(process.argv[2] ?? 5)
const LEVELS = (process.argv[3] ?? '1,8,32,64').split(',').map(Number)

console.log(`refresh grant, ${SECONDS} s per level, ${machine()}`)
console.log('| data | clients | refreshes/s | p50 ms | p95 ms | max ms | data file after |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
// In memory too, to tell the cost of HTTP, rotation and signing from the cost of saving the file.
for (const inMemory of [false, true]) {
  const bench = await startBenchServer({ inMemory })
  try {
    const tokens: string[] = []
    for (let i = 0; i < Math.max(...LEVELS); i++) tokens.push(await loggedInAgent(bench, `Refresher ${i}`))
    const refresh = async (refreshToken: string): Promise<string> => {
      const { status, body } = await postForm(`${bench.url}/oauth/token`, { client_id: CLIENT_ID, grant_type: 'refresh_token', refresh_token: refreshToken })
      if (status !== 200) throw new Error(`refresh failed with ${status}: ${JSON.stringify(body)}`)
      return body.refresh_token
    }
    // Warm up the JIT, the key and the keep-alive connections.
    await Promise.all(tokens.map(async (_, i) => (tokens[i] = await refresh(tokens[i]!))))

    for (const clients of LEVELS) {
      const latencies: number[] = []
      const startedAt = performance.now()
      const endAt = startedAt + SECONDS * 1000
      await Promise.all(
        Array.from({ length: clients }, async (_, i) => {
          while (performance.now() < endAt) {
            const sentAt = performance.now()
            tokens[i] = await refresh(tokens[i]!)
            latencies.push(performance.now() - sentAt)
          }
        }),
      )
      const elapsed = (performance.now() - startedAt) / 1000
      const stats = summarize(latencies)
      const size = inMemory ? '-' : `${Math.round((await bench.dataFileBytes()) / 1024)} KiB`
      console.log(`| ${inMemory ? 'memory' : 'file'} | ${clients} | ${Math.round(latencies.length / elapsed)} | ${stats.p50.toFixed(1)} | ${stats.p95.toFixed(1)} | ${stats.max.toFixed(1)} | ${size} |`)
    }
  } finally {
    await bench.dispose()
  }
}
