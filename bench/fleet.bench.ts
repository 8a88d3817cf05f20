/**
 * examples/worker-fleet.ts at its default size: 1,000 agents in one process,
 * each with its own session file and AuthManager, signed in and kept fresh
 * against the embedded reference server with short-lived access tokens. The
 * example runs as a user runs it (its own process, `node --import tsx`),
 * with bench/fleet-probe.ts preloaded to follow each agent's refreshes,
 * count failed requests and sample memory; the example itself is unchanged.
 *
 *   npm run bench -- fleet
 *   node --import tsx bench/fleet.bench.ts [agents, default 1000] [access TTL in s, default 20]
 *
 * 20 s tokens refreshed at half-life ask 1,000 agents for 100 refreshes/s; at 5 s
 * (400/s) one process on 2 cores, server included, falls behind (bench/RESULTS.md).
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { FleetProbe } from './fleet-probe.js'
import { machine } from './server-support.js'

const SIZE = Number(process.argv[2] ?? 1000)
const ACCESS_TTL = Number(process.argv[3] ?? 20)
if (!Number.isInteger(SIZE) || SIZE < 1) throw new TypeError('the number of agents must be a positive integer')
if (!(ACCESS_TTL >= 1)) throw new TypeError('the access TTL must be a number of seconds ≥ 1')

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = await mkdtemp(join(tmpdir(), 'countersign-bench-fleet-'))
const probeFile = join(dir, 'probe.json')
try {
  const started = performance.now()
  const example = spawn(process.execPath, ['--import', 'tsx', '--import', pathToFileURL(join(root, 'bench/fleet-probe.ts')).href, 'examples/worker-fleet.ts', String(SIZE)], {
    cwd: root,
    env: { ...process.env, FLEET_ACCESS_TTL: String(ACCESS_TTL), FLEET_PROBE_OUT: probeFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  example.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  example.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const code = await new Promise<number | null>((resolve) => example.once('close', resolve))
  const wallSeconds = (performance.now() - started) / 1000

  const signIn = /^(\d+) agents signed in in ([\d.]+) s/m.exec(stdout)
  const fleet = /^fleet: (\d+) agents signed in, (\d+) refreshed, (\d+) answered \/api\/agent\/me$/m.exec(stdout)
  const probe = JSON.parse(await readFile(probeFile, 'utf8')) as FleetProbe
  const refreshes = [...probe.refreshesPerAgent].sort((a, b) => a - b)
  const mean = refreshes.reduce((sum, n) => sum + n, 0) / Math.max(1, refreshes.length)
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0)

  console.log(`worker fleet (examples/worker-fleet.ts), ${SIZE} agents, access tokens of ${ACCESS_TTL} s, ${machine()}`)
  console.log('| agents | signed in (device grants seen) | refreshed | answered /me | refreshes per agent min / mean / max | failed requests | sign-in s | wall s | peak RSS MiB | peak heap MiB |')
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  console.log(
    `| ${SIZE} | ${fleet?.[1] ?? '-'} (${refreshes.length}) | ${fleet?.[2] ?? '-'} | ${fleet?.[3] ?? '-'} | ${refreshes[0] ?? 0} / ${mean.toFixed(1)} / ${refreshes.at(-1) ?? 0} | ${probe.failures.length} | ${signIn?.[2] ?? '-'} | ${wallSeconds.toFixed(1)} | ${mib(probe.peakRssBytes)} | ${mib(probe.peakHeapBytes)} |`,
  )
  console.log(`requests: ${Object.entries(probe.requests).map(([what, n]) => `${what} ${n}`).join(', ')}`)
  for (const failure of probe.failures.slice(0, 5)) console.log(`failed: ${failure.what}: ${failure.detail}`)
  if (stderr) console.log(`the example wrote on stderr:\n${stderr.trimEnd()}`)

  const allFresh = fleet !== null && fleet.slice(1).every((n) => Number(n) === SIZE) && refreshes.length === SIZE && refreshes[0]! >= 1
  if (code !== 0 || !allFresh || probe.failures.length > 0) {
    console.error(`the fleet did not stay fresh: exit ${code}, ${probe.failures.length} failed requests`)
    process.exitCode = 1
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
