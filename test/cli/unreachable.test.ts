/**
 * `status` and `token` when the session's server was started and then
 * stopped: both say at once that the server at its URL could not be reached
 * and why, exit 5, and keep the session, which works again once the server
 * is back. A token that still lives is handed out without the server.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/process.js'
import { TestOwner, startTestServer, type TestServer } from '../support/server.js'
import { jsonLines, registeredAgent, storedSession } from './helpers.js'

/** Without the probe the runtime's backoff (saved by the run before) and status's 10 s settling were waited out. */
const PROMPT_MS = 4_000

async function timed(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now()
  const result = await runCli(args)
  return { ...result, ms: Date.now() - started }
}

const until = (epochMs: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())))

describe('status and token with the server down', () => {
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-cli-down-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  describe('once the access token expired', () => {
    let test: TestServer
    let store: string
    let agentId: string
    let saved: any

    beforeAll(async () => {
      test = await startTestServer({ interval: 1, accessTtl: 1 })
      store = join(dir, 'expired.json')
      agentId = await registeredAgent(test.url, await TestOwner.create(test.url), store)
      saved = await storedSession(store)
      await test.stop()
      await until(saved.accessExpiresAt + 50)
    })
    afterAll(async () => {
      await test.dispose()
    })

    const unreachable = () => `could not reach the server at ${test.url} (connection refused)`

    it('status shows what the store holds, says the server could not be reached, and exits 5 at once, run after run', async () => {
      for (let run = 0; run < 2; run++) {
        const text = await timed(['status', '--store', store])
        expect(text.code).toBe(5)
        expect(text.stdout).toMatch(new RegExp(`^state: +refreshing \\(the server could not be reached\\)\\nagent: +${agentId}\\nserver: +${test.url}\\n[\\s\\S]*\\nstore: +${store}\\n$`))
        expect(text.stderr).toBe(`countersign: ${unreachable()}: the refresh that is due could not be made; the session stays saved in ${store}\n`)
        expect(text.ms).toBeLessThan(PROMPT_MS)
      }
      const json = await timed(['--json', 'status', '--store', store])
      expect(json.code).toBe(5)
      const [status, error] = jsonLines(json.stdout)
      expect(status).toMatchObject({ type: 'status', state: 'refreshing', agentId, server: test.url, store, failure: null })
      expect(error).toEqual({ type: 'error', code: 'network_error', message: `${unreachable()}: the refresh that is due could not be made; the session stays saved in ${store}`, exitCode: 5 })
      expect(json.ms).toBeLessThan(PROMPT_MS)
    })

    it('token prints nothing on stdout, names the server and the cause, and exits 5 at once, run after run', async () => {
      for (const args of [['token'], ['token'], ['--json', 'token']]) {
        const result = await timed([...args, '--store', store])
        const message = `${unreachable()}: the access token expired and could not be refreshed; the session stays saved in ${store}`
        expect(result.code).toBe(5)
        expect(result.stderr).toBe(`countersign: ${message}\n`)
        expect(result.stdout).toBe(args[0] === '--json' ? `${JSON.stringify({ type: 'error', code: 'network_error', message, exitCode: 5 })}\n` : '')
        expect(result.ms).toBeLessThan(PROMPT_MS)
      }
    })

    it('keeps the session, which status and token refresh once the server is back', async () => {
      const kept = await storedSession(store)
      expect(kept).toMatchObject({ agentId, refreshToken: saved.refreshToken })
      test = await test.restart()
      const status = await runCli(['status', '--store', store])
      expect(status.code).toBe(0)
      expect(status.stdout).toMatch(/^state: +authenticated\n/)
      const result = await runCli(['token', '--store', store])
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)
      expect(result.stdout.trim()).not.toBe(saved.accessToken)
    })
  })

  it('token hands out a token that is due for a refresh but still lives, without the server', async () => {
    const test = await startTestServer({ interval: 1, accessTtl: 4 })
    try {
      const store = join(dir, 'due.json')
      await registeredAgent(test.url, await TestOwner.create(test.url), store)
      const saved = await storedSession(store)
      await test.stop()
      // Due at half its life, 2 s; it lives 2 s longer.
      await until(saved.accessExpiresAt - 1_800)
      const result = await timed(['token', '--store', store])
      expect(result).toMatchObject({ code: 0, stdout: `${saved.accessToken}\n`, stderr: '' })
      expect(result.ms).toBeLessThan(PROMPT_MS)
    } finally {
      await test.dispose()
    }
  })
})
