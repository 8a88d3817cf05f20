/**
 * The reader of the CLI's output goes away (`countersign --json demo | head -1`):
 * the command stops as on a termination request, with no crash and nothing
 * on stderr, instead of dying of an unhandled EPIPE.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

const BIN = fileURLToPath(new URL('../../bin/countersign', import.meta.url))

describe('countersign with its output closed by the reader', () => {
  let cwd: string | undefined
  afterEach(async () => {
    if (cwd) await rm(cwd, { recursive: true, force: true })
  })

  it('stops the demo cleanly (exit 0, nothing on stderr) once the first line was read and the pipe closed', async () => {
    cwd = await mkdtemp(join(tmpdir(), 'countersign-closed-pipe-'))
    const child = spawn(process.execPath, [BIN, '--json', 'demo', '--port', '0', '--access-ttl', '2', '--no-qr'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const firstLine = await new Promise<string>((resolve) => {
      let seen = ''
      child.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString()
        if (seen.includes('\n')) resolve(seen.slice(0, seen.indexOf('\n')))
      })
    })
    expect(JSON.parse(firstLine)).toMatchObject({ type: 'server' })
    // As `head -1` does: the reader closes its end, and the next write meets EPIPE.
    child.stdout.destroy()

    expect(await exited).toBe(0)
    expect(stderr).toBe('')
  })
})
