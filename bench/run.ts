/**
 * Runs the benchmarks: every bench/*.bench.ts, or those whose names contain
 * one of the words given, one after another, each in its own process.
 *
 *   npm run bench                 # all of them
 *   npm run bench -- server       # bench/server-*.bench.ts
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const words = process.argv.slice(2)
const benches = readdirSync(here)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => words.length === 0 || words.some((word) => name.includes(word)))
  .sort()

if (benches.length === 0) {
  console.error(`no benchmark in bench/ matches ${words.length ? words.join(', ') : '*.bench.ts'}`)
  process.exit(1)
}

let failed = 0
for (const name of benches) {
  console.log(`\n=== ${name}`)
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, name)], { stdio: 'inherit' })
  if (run.status !== 0) {
    failed++
    console.error(`${name} failed (${run.signal ?? `exit ${run.status}`})`)
  }
}
process.exit(failed === 0 ? 0 : 1)
