/**
 * `countersign --json demo` as a script sees it: the same story as the
 * terminal demo in JSON lines, with the owner approving through the owner
 * API; the session resumed on the next run, kept when the last port is
 * taken, and registered anew when the server's data was removed; a saved
 * approval shown at the server's new address, or asked for anew. The first
 * port tried is one of this file's (COUNTERSIGN_DEMO_FIRST_PORT), never
 * 4000, which another test or a person's demo may hold.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, startChild, type Child } from '../support/process.js'
import { TestOwner } from '../support/server.js'
import { closedPort, jsonLines } from './helpers.js'

describe('countersign --json demo', () => {
  let cwd: string
  let firstPort: number
  const running: Child[] = []

  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'countersign-demo-json-'))
    firstPort = await closedPort()
  })
  afterAll(async () => {
    for (const child of running) if (child.process.exitCode === null) child.process.kill('SIGKILL')
    await rm(cwd, { recursive: true, force: true })
  })

  function demo(options: { cwd?: string; firstPort?: number } = {}): Child {
    const env = { COUNTERSIGN_DEMO_FIRST_PORT: String(options.firstPort ?? firstPort) }
    const child = startChild(process.execPath, [CLI, '--json', 'demo', '--access-ttl', '2'], { cwd: options.cwd ?? cwd, env })
    running.push(child)
    return child
  }

  async function event(child: Child, type: string): Promise<any> {
    const [line] = await child.waitForLine(new RegExp(`^\\{"type":"${type}".*\\}$`))
    return JSON.parse(line)
  }

  /** `twice`: the signal comes again once the demo is stopping, as Ctrl-C does under `npm start` (the terminal's, then the one npm forwards). */
  async function stop(child: Child, signal: NodeJS.Signals = 'SIGINT', twice = false): Promise<any[]> {
    child.process.kill(signal)
    if (twice) {
      await child.waitForLine(/^\{"type":"stopped"/)
      child.process.kill(signal)
    }
    expect(await child.exited).toEqual({ code: 0, signal: null })
    const events = jsonLines(child.stdout())
    expect(events.at(-1)).toEqual({ type: 'stopped', signal })
    return events
  }

  let firstAgentId = ''
  let firstServer: any
  let password = ''
  /** The approval the last test left pending. */
  let pending: any

  it('prints server, owner, approval, authenticated, live socket and refresh events, and no token', async () => {
    const child = demo()
    firstServer = await event(child, 'server')
    expect(firstServer).toEqual({ type: 'server', url: `http://127.0.0.1:${firstPort}`, console: `${firstServer.url}/`, dataFile: join(cwd, '.countersign', 'server.json'), accessTtl: 2, movedFrom: null })
    const owner = await event(child, 'owner')
    expect(owner).toEqual({ type: 'owner', email: 'owner@countersign.localhost', password: expect.stringMatching(/^[\w-]{16}$/), created: true, file: join(cwd, '.countersign', 'demo.json') })
    password = owner.password
    const approval = await event(child, 'approvalStarted')
    const human = await TestOwner.create(firstServer.url, owner.email, owner.password)
    await human.approve(approval.userCode)

    const authenticated = await event(child, 'authenticated')
    expect(authenticated).toEqual({ type: 'authenticated', agentId: approval.agentId, name: 'Demo agent', username: 'demo-agent', owner: human.ownerId, scope: 'agent', resumed: false })
    firstAgentId = authenticated.agentId
    expect(await event(child, 'liveSocketOpen')).toMatchObject({ connectionId: 1 })
    expect(await event(child, 'refreshed')).toMatchObject({ count: 1, accessExpiresAt: expect.any(String) })
    await event(child, 'liveSocketReauthenticated')
    await stop(child, 'SIGINT', true)

    const saved = JSON.parse(await readFile(join(cwd, '.countersign', 'agent.json'), 'utf8')).session
    expect(child.stdout()).not.toContain(saved.accessToken)
    expect(child.stdout()).not.toContain(saved.refreshToken)
  })

  it('resumes on the next run at the same address, with the same owner password and no approval', async () => {
    const child = demo()
    expect(await event(child, 'server')).toMatchObject({ url: firstServer.url, movedFrom: null })
    expect(await event(child, 'owner')).toMatchObject({ password, created: false })
    expect(await event(child, 'authenticated')).toMatchObject({ agentId: firstAgentId, resumed: true })
    await event(child, 'liveSocketOpen')
    const events = await stop(child, 'SIGTERM')
    expect(events.map((e) => e.type)).not.toContain('approvalStarted')
  })

  it('keeps the session when the last port is taken: another port, tokens refreshed for the new address', async () => {
    const port = Number(new URL(firstServer.url).port)
    await withPortTaken(port, async () => {
      const child = demo()
      const server = await event(child, 'server')
      expect(server.movedFrom).toBe(port)
      expect(server.url).not.toBe(firstServer.url)
      expect(await event(child, 'authenticated')).toMatchObject({ agentId: firstAgentId, resumed: true })
      await stop(child)
    })
  })

  it('serves on a free port when the first port is taken on a first run, and saves that port for the next', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'countersign-demo-json-'))
    await withPortTaken(0, async (taken) => {
      const child = demo({ cwd: fresh, firstPort: taken })
      const server = await event(child, 'server')
      // A first run has no last port to move from.
      expect(server).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), movedFrom: null })
      const port = Number(new URL(server.url).port)
      expect(port).not.toBe(taken)
      await event(child, 'approvalStarted')
      await stop(child)
      expect(JSON.parse(await readFile(join(fresh, '.countersign', 'demo.json'), 'utf8')).port).toBe(port)
    }).finally(() => rm(fresh, { recursive: true, force: true }))
  })

  it('registers again when the server no longer knows the saved session, and stops cleanly while waiting', async () => {
    await rm(join(cwd, '.countersign', 'server.json'))
    const child = demo()
    expect(await event(child, 'owner')).toMatchObject({ password, created: false })
    expect(await event(child, 'sessionRejected')).toEqual({ type: 'sessionRejected', message: expect.any(String) })
    pending = await event(child, 'approvalStarted')
    expect(pending.agentId).not.toBe(firstAgentId)
    await stop(child)
  })

  it('shows a saved approval at the address the server moved to, and waits for it there', async () => {
    const { port } = JSON.parse(await readFile(join(cwd, '.countersign', 'demo.json'), 'utf8'))
    await withPortTaken(port, async () => {
      const child = demo()
      const server = await event(child, 'server')
      expect(server.movedFrom).toBe(port)
      const approval = await event(child, 'approvalStarted')
      expect(approval).toEqual({ ...pending, approvalUrl: `${server.url}/device?user_code=${pending.userCode}` })
      await (await TestOwner.create(server.url, 'owner@countersign.localhost', password)).approve(pending.userCode)
      expect(await event(child, 'authenticated')).toMatchObject({ agentId: pending.agentId, resumed: false })
      await stop(child)
    })
  })

  it('registers again when the server no longer knows a saved approval', async () => {
    await rm(join(cwd, '.countersign', 'server.json'))
    await rm(join(cwd, '.countersign', 'agent.json'))
    const first = demo()
    const left = await event(first, 'approvalStarted')
    await stop(first)
    await rm(join(cwd, '.countersign', 'server.json'))
    const child = demo()
    expect(await event(child, 'sessionRejected')).toEqual({ type: 'sessionRejected', message: 'the server no longer knows this approval request (invalid_grant): the device code is unknown' })
    await child.waitForLine(new RegExp(`^\\{"type":"approvalStarted".*"agentId":"(?!${left.agentId}")`))
    const events = (await stop(child)).filter((e) => e.type !== 'pollAttempt')
    expect(events.map((e) => e.type)).toEqual(['server', 'owner', 'approvalStarted', 'sessionRejected', 'approvalStarted', 'stopped'])
    expect(events[2]).toEqual(left)
    expect(events[4].agentId).not.toBe(left.agentId)
  })
})

/** Runs `body` while something else listens on `port` (0: a free one), with the port taken. */
async function withPortTaken<T>(port: number, body: (taken: number) => Promise<T>): Promise<T> {
  const squatter: Server = createServer()
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve))
  try {
    return await body((squatter.address() as { port: number }).port)
  } finally {
    await new Promise((resolve) => squatter.close(resolve))
  }
}
