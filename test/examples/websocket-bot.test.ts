import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startTestServer, TestOwner, type TestServer } from '../support/server.js'
import { runExample, secretsIn, stopExamples, userCodeOf } from './support.js'

describe('examples/websocket-bot.ts', () => {
  let server: TestServer
  let owner: TestOwner

  beforeEach(async () => {
    // Access tokens of 3 s: the runtime refreshes at half-life, so the bot's token rotates every 1.5 s.
    server = await startTestServer({ accessTtl: 3 })
    owner = await TestOwner.create(server.url)
  })
  afterEach(async () => {
    await stopExamples()
    await server.dispose()
  })

  it('keeps one connection through token rotations: every echo comes back, in order, re-authenticated in band', async () => {
    const storePath = join(server.dir, 'bot.json')
    const bot = runExample('websocket-bot', { COUNTERSIGN_SERVER: server.url, BOT_STORE: storePath, BOT_INTERVAL_MS: '250', BOT_ECHOES: '20' })
    const [, approvalUrl] = await bot.waitForLine(/^approve this bot at (\S+)$/)
    await owner.approve(userCodeOf(approvalUrl!))

    expect(await bot.exited).toEqual({ code: 0, signal: null })
    const lines = bot.stdout().trim().split('\n')
    const echoes = lines.filter((line) => line.startsWith('echo '))
    expect(echoes).toEqual(Array.from({ length: 20 }, (_, i) => `echo ${i + 1}: {"text":"hello #${i + 1}"}`))
    expect(lines.filter((line) => line.startsWith('connected'))).toEqual(['connected (connection 1)'])
    expect(lines.filter((line) => line.startsWith('token rotated')).length).toBeGreaterThanOrEqual(2)
    expect(lines.some((line) => line.startsWith('disconnected'))).toBe(false)
    expect(lines.at(-1)).toBe('closed (closed) after 20 echoes')
    expect(bot.stderr()).toBe('')
    for (const secret of await secretsIn(storePath)) expect(bot.stdout()).not.toContain(secret)
  })

  it('stops with status 1 when the owner revokes the agent', async () => {
    const bot = runExample('websocket-bot', { COUNTERSIGN_SERVER: server.url, BOT_STORE: join(server.dir, 'bot.json'), BOT_INTERVAL_MS: '200' })
    const [, approvalUrl] = await bot.waitForLine(/^approve this bot at (\S+)$/)
    await owner.approve(userCodeOf(approvalUrl!))
    const [, agentId] = await bot.waitForLine(/^signed in as (agt_\S+)$/)
    await bot.waitForLine(/^echo 1: /)

    await owner.revokeAgent(agentId!)
    expect(await bot.exited).toEqual({ code: 1, signal: null })
    expect(bot.stdout()).toContain('the owner revoked this agent; stopping')
    expect(bot.stdout()).toMatch(/^closed \(revoked\) after \d+ echoes$/m)
  })

  it('closes cleanly on SIGINT', async () => {
    const bot = runExample('websocket-bot', { COUNTERSIGN_SERVER: server.url, BOT_STORE: join(server.dir, 'bot.json'), BOT_INTERVAL_MS: '200' })
    const [, approvalUrl] = await bot.waitForLine(/^approve this bot at (\S+)$/)
    await owner.approve(userCodeOf(approvalUrl!))
    await bot.waitForLine(/^echo 2: /)

    bot.process.kill('SIGINT')
    expect(await bot.exited).toEqual({ code: 0, signal: null })
    expect(bot.stdout()).toMatch(/^closed \(closed\) after \d+ echoes$/m)
  })
})
