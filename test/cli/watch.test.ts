/**
 * `countersign watch` following a live session with a short access TTL, and
 * what the other commands do around it: a token that is due gets refreshed,
 * a store held by a running watch is still readable, and a session the
 * owner revoked ends the watch with exit code 3.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../support/process.js'
import { TestOwner, startTestServer, type TestServer } from '../support/server.js'
import { cli, jsonLines, registeredAgent, storedSession } from './helpers.js'

/** Seconds; the runtime refreshes at half-life, so about every second. */
const ACCESS_TTL = 2

describe('countersign watch', () => {
  let test: TestServer
  let owner: TestOwner
  let dir: string
  let store: string
  let n = 0

  beforeAll(async () => {
    test = await startTestServer({ interval: 1, accessTtl: ACCESS_TTL })
    owner = await TestOwner.create(test.url)
    dir = await mkdtemp(join(tmpdir(), 'countersign-cli-'))
  })
  afterAll(async () => {
    await test.dispose()
    await rm(dir, { recursive: true, force: true })
  })
  beforeEach(() => {
    store = join(dir, `session-${++n}.json`)
  })

  it('prints each refresh with the new expiry, saves the rotated tokens, and stops with exit 0 on Ctrl-C', async () => {
    const agentId = await registeredAgent(test.url, owner, store)
    const before = await storedSession(store)
    const watch = cli(['watch', '--store', store])
    await watch.waitForLine(new RegExp(`^Following the session of agent ${agentId} at ${test.url} · the access token expires .*\\. Ctrl-C stops\\.$`))
    await watch.waitForLine(/^Refreshed the access token \(#2\) · it expires \d\d:\d\d:\d\d \(in [12] s\)$/)
    watch.process.kill('SIGINT')
    expect(await watch.exited).toEqual({ code: 0, signal: null })
    expect(watch.stdout()).toMatch(/Stopped \(SIGINT\)\.\n$/)
    const after = await storedSession(store)
    expect(after.refreshToken).not.toBe(before.refreshToken)
    expect(after.accessExpiresAt).toBeGreaterThan(before.accessExpiresAt)
    expect(watch.stdout()).not.toContain(after.accessToken)
    expect(watch.stdout()).not.toContain(before.refreshToken)
  })

  it('--json prints following, refreshed and stopped events', async () => {
    const agentId = await registeredAgent(test.url, owner, store)
    const watch = cli(['--json', 'watch', '--store', store])
    await watch.waitForLine(/^\{"type":"refreshed","count":1,/)
    watch.process.kill('SIGTERM')
    expect((await watch.exited).code).toBe(0)
    const events = jsonLines(watch.stdout())
    expect(events[0]).toEqual({ type: 'following', agentId, server: test.url, accessExpiresAt: expect.any(String), refreshAt: expect.any(String), store })
    expect(events.find((event) => event.type === 'refreshed')).toEqual({ type: 'refreshed', count: 1, at: expect.any(String), accessExpiresAt: expect.any(String), refreshAt: expect.any(String) })
    expect(events.at(-1)).toEqual({ type: 'stopped', signal: 'SIGTERM' })
  })

  it('ends with exit 3 when the owner revokes the agent and the next refresh is refused', async () => {
    const agentId = await registeredAgent(test.url, owner, store)
    const watch = cli(['watch', '--store', store])
    await watch.waitForLine(/^Following the session/)
    await owner.revokeAgent(agentId)
    expect((await watch.exited).code).toBe(3)
    expect(watch.stdout()).toMatch(/^The session ended: .+$/m)
    expect(watch.stderr()).toMatch(/^countersign: the session ended \(.+\); log in again\n$/)
    expect(await storedSession(store)).toBeNull()
  })

  it('exits 3 without a session', async () => {
    const result = await runCli(['watch', '--store', store])
    expect(result.code).toBe(3)
    expect(result.stderr).toContain(`countersign: no session in ${store}`)
  })

  it('leaves the store readable while it runs: token reads the saved token, status says another process holds it, revoke exits 6', async () => {
    // The default access TTL: the token read from the file is far from its expiry.
    const server = await startTestServer({ interval: 1 })
    const serverOwner = await TestOwner.create(server.url)
    await registeredAgent(server.url, serverOwner, store)
    const watch = cli(['watch', '--store', store])
    try {
      await watch.waitForLine(/^Following the session/)
      const token = await runCli(['token', '--store', store])
      expect(token.code).toBe(0)
      expect(token.stdout).toBe(`${(await storedSession(store)).accessToken}\n`)
      const me = await fetch(`${server.url}/api/agent/me`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } })
      expect(me.status).toBe(200)
      const status = await runCli(['--json', 'status', '--store', store])
      expect(status.code).toBe(0)
      expect(JSON.parse(status.stdout)).toMatchObject({ state: 'authenticated', heldByAnotherProcess: true })
      const revoke = await runCli(['revoke', '--store', store])
      expect(revoke.code).toBe(6)
      expect(revoke.stderr).toBe(`countersign: the file ${store} is in use: process ${watch.process.pid} on this host holds its writer lock (${store}.lock)\n`)
    } finally {
      watch.process.kill('SIGINT')
      expect((await watch.exited).code).toBe(0)
      await server.dispose()
    }
  })

  it('token refreshes a token that is due before printing it', async () => {
    await registeredAgent(test.url, owner, store)
    const before = await storedSession(store)
    // Past half its life, the runtime's refresh time.
    await new Promise((resolve) => setTimeout(resolve, (ACCESS_TTL * 1000) / 2 + 100))
    const result = await runCli(['token', '--store', store])
    expect(result.code).toBe(0)
    const after = await storedSession(store)
    expect(after.accessToken).not.toBe(before.accessToken)
    expect(result.stdout).toBe(`${after.accessToken}\n`)
  })
})
