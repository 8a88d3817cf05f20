/**
 * FileStore save latency: one session record (tokens and the machine
 * envelope of a signed-in agent, as the runtime writes it) saved with
 * compare-and-set, one save after another, each one durable (temp file,
 * fsync, rename) before the next. Reports p50/p95/p99 in ms.
 *
 *   node --import tsx bench/auth-file-store.bench.ts [saves]   (or: npm run bench -- auth)
 *
 * Target: p95 ≤ 5 ms.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { FileStore, MemoryStore, AuthManager } from '../src/index.js'

const SAVES = Number(process.argv[2] ?? 1000)
const dir = await mkdtemp(join(tmpdir(), 'countersign-bench-'))
const path = join(dir, 'session.json')

// A real record: what a signed-in manager saves (its envelope holds the machine snapshot).
const source = new MemoryStore()
const auth = new AuthManager('http://127.0.0.1:4000', source)
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const now = Math.floor(Date.now() / 1000)
auth.setTokens(`${b64({ alg: 'ES256', typ: 'at+jwt' })}.${b64({ sub: 'agt_bench', iat: now, exp: now + 3600, scope: 'agent', jti: randomBytes(16).toString('base64url') })}.${randomBytes(64).toString('base64url')}`, randomBytes(32).toString('base64url'))
await auth.tokenProvider()
await new Promise((resolve) => setTimeout(resolve, 100))
const record = (await source.load())!
auth.dispose()

const store = new FileStore(path)
await store.open()
let version = 0
const latencies: number[] = []
for (let i = 0; i < SAVES + 50; i++) {
  const started = performance.now()
  const saved = await store.save({ ...record, machine: { ...record.machine!, savedAt: Date.now() } }, { expectedVersion: version })
  const took = performance.now() - started
  version = saved.version
  if (i >= 50) latencies.push(took) // the first saves warm up the code and the file system
}
const fileBytes = (await stat(path)).size
await store.close()

// The floor: the same bytes through plain node:fs with the same durability (write, datasync, rename, fsync the folder).
const text = await readFile(path)
const floor: number[] = []
for (let i = 0; i < SAVES + 50; i++) {
  const started = performance.now()
  const temp = join(dir, `floor-${i}.tmp`)
  const handle = await open(temp, 'wx', 0o600)
  await handle.writeFile(text)
  await handle.datasync()
  await handle.close()
  await rename(temp, join(dir, 'floor.json'))
  const folder = await open(dir, 'r')
  await folder.sync()
  await folder.close()
  if (i >= 50) floor.push(performance.now() - started)
}
await rm(dir, { recursive: true, force: true })

const quantiles = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2))
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: Number(sorted.at(-1)!.toFixed(2)) }
}
const ms = quantiles(latencies)
let fileSystem = 'unknown'
try {
  fileSystem = execFileSync('df', ['-T', tmpdir()], { encoding: 'utf8' }).trim().split('\n').at(-1)!.split(/\s+/)[1]!
} catch {
  // df is not everywhere
}
console.log(JSON.stringify({
  saves: SAVES,
  recordBytes: fileBytes,
  fileSystem: `${tmpdir()} (${fileSystem})`,
  ms,
  plainFsFloorMs: quantiles(floor),
  target: 'p95 ≤ 5 ms',
  met: ms.p95 <= 5,
}, null, 2))
