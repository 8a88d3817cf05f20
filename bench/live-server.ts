/**
 * The reference server in a process of its own for the live-client
 * benchmarks, so the client side is measured without the server sharing its
 * event loop. Prints `{"url": ...}` once listening; stops on SIGTERM.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from '../src/server/index.js'

const dir = await mkdtemp(join(tmpdir(), 'countersign-bench-live-'))
const server = await createServer({ host: '127.0.0.1', port: 0, rateLimit: 1_000_000, dataFile: join(dir, 'server.json') })
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`)
process.once('SIGTERM', async () => {
  await server.close()
  await rm(dir, { recursive: true, force: true })
  process.exit(0)
})
