/**
 * `countersign demo` when it cannot start: each failure one line on stderr
 * naming what was wrong, with its documented exit code.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../support/process.js'

describe('countersign demo failing to start', () => {
  let cwd: string

  beforeEach(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'countersign-demo-fail-'))
  })
  afterEach(async () => {
    await rm(cwd, { recursive: true, force: true })
  })

  it('refuses a malformed COUNTERSIGN_DEMO_FIRST_PORT as a usage error (exit 2) before it writes anything', async () => {
    const result = await runCli(['demo'], { cwd, env: { COUNTERSIGN_DEMO_FIRST_PORT: '40o0' } })
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'countersign: COUNTERSIGN_DEMO_FIRST_PORT must be a whole number from 1 to 65535 (got "40o0")\n' })
  })
})
