/**
 * `countersign register` and `countersign login` against a real server: the
 * approval shown, the owner's decision awaited, the session saved with its
 * server; and the failures with their exit codes and one-line messages.
 */
import { access, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../support/process.js'
import { TestOwner, startTestServer, type TestServer } from '../support/server.js'
import { approvalOf, cli, closedPort, jsonLines, registeredAgent, storedSession, userCodeOf } from './helpers.js'

describe('countersign register and login', () => {
  let test: TestServer
  let owner: TestOwner
  let dir: string
  let store: string
  let n = 0

  beforeAll(async () => {
    test = await startTestServer({ interval: 1 })
    owner = await TestOwner.create(test.url)
  })
  afterAll(async () => {
    await test.dispose()
  })
  beforeEach(async () => {
    dir ??= await mkdtemp(join(tmpdir(), 'countersign-cli-'))
    store = join(dir, `session-${++n}.json`)
    return async () => {
      if (n === 0) await rm(dir, { recursive: true, force: true })
    }
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('register shows the approval URL and user code, waits for the owner, and saves the session with its server in a private file', async () => {
    const child = cli(['register', '--server', test.url, '--name', 'Report writer', '--store', store])
    const [, approvalUrl] = await child.waitForLine(/^ {2}approval URL: (\S+)$/)
    const userCode = await userCodeOf(child)
    expect(approvalUrl).toBe(`${test.url}/device?user_code=${userCode}`)
    await owner.approve(userCode)
    expect(await child.exited).toEqual({ code: 0, signal: null })

    const session = await storedSession(store)
    expect(session.issuer).toBe(test.url)
    expect(session.agentId).toMatch(/^agt_/)
    expect(child.stdout()).toContain(`Authenticated as agent ${session.agentId} at ${test.url}. The session is saved in ${store}.`)
    expect((await stat(store)).mode & 0o777).toBe(0o600)
    // Not a terminal: no spinner and no QR code, and never a token.
    expect(child.stdout()).not.toMatch(/[▀▄█]/)
    expect(child.stdout() + child.stderr()).not.toContain(session.accessToken)
    expect(child.stdout() + child.stderr()).not.toContain(session.refreshToken)
  })

  it('register --json prints approvalStarted, pollAttempt and authenticated events', async () => {
    const child = cli(['--json', 'register', '--server', test.url, '--name', 'JSON agent', '--username', 'json-agent', '--store', store])
    const approval = await approvalOf(child)
    await child.waitForLine(/^\{"type":"pollAttempt"/)
    await owner.approve(approval.userCode)
    expect((await child.exited).code).toBe(0)
    const events = jsonLines(child.stdout())
    expect(events[0]).toEqual({
      type: 'approvalStarted',
      approvalUrl: `${test.url}/device?user_code=${approval.userCode}`,
      userCode: expect.stringMatching(/^[A-Z]{4}-[A-Z]{4}$/),
      agentId: expect.stringMatching(/^agt_/),
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    })
    expect(events.filter((event) => event.type === 'pollAttempt')[0]).toEqual({ type: 'pollAttempt', attempt: 1, at: expect.any(String), expiresAt: approval.expiresAt })
    expect(events.at(-1)).toEqual({ type: 'authenticated', agentId: approval.agentId, server: test.url, store })
    const me = await owner.request('GET', '/api/agents')
    expect(me.body.find((agent: { id: string }) => agent.id === approval.agentId)).toMatchObject({ name: 'JSON agent', username: 'json-agent' })
  })

  it('exits 4 with one line when the owner denies, and leaves no session', async () => {
    const child = cli(['--json', 'register', '--server', test.url, '--name', 'Unwanted', '--store', store])
    const approval = await approvalOf(child)
    await owner.deny(approval.userCode)
    expect((await child.exited).code).toBe(4)
    expect(child.stderr()).toBe('countersign: the approval request was denied: the request was denied\n')
    expect(jsonLines(child.stdout()).at(-1)).toEqual({ type: 'error', code: 'approval_denied', message: 'the approval request was denied: the request was denied', exitCode: 4 })
    const status = await runCli(['status', '--store', store])
    expect(status.code).toBe(3)
  })

  it('exits 5 naming the server when nothing listens there, and creates no store', async () => {
    const server = `http://127.0.0.1:${await closedPort()}`
    const result = await runCli(['register', '--server', server, '--name', 'Lost', '--store', store])
    expect(result.code).toBe(5)
    expect(result.stderr).toBe(`countersign: could not reach the server at ${server} (connection refused)\n`)
    await expect(access(store)).rejects.toThrow()
  })

  it('gives up after --timeout with exit code 4', async () => {
    const result = await runCli(['register', '--server', test.url, '--name', 'Impatient', '--store', store, '--timeout', '1'])
    expect(result.code).toBe(4)
    expect(result.stderr).toBe('countersign: gave up waiting for approval: the timeout passed\n')
  })

  it('stops on Ctrl-C with exit code 130 and keeps the approval pending for a later watch', async () => {
    const child = cli(['register', '--server', test.url, '--name', 'Interrupted', '--store', store])
    const userCode = await userCodeOf(child)
    await child.waitForLine(/^Waiting for approval/)
    child.process.kill('SIGINT')
    expect((await child.exited).code).toBe(130)
    expect(child.stderr()).toContain(`Stopped. The approval stays pending in ${store}; "countersign watch --store ${store}" goes on waiting for it.`)
    expect(child.stderr()).toContain('countersign: interrupted while waiting for approval')
    const status = await runCli(['--json', 'status', '--store', store])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'pendingApproval', approval: { userCode } })
  })

  it('refuses to register over a store that holds a session, and leaves the file as it was', async () => {
    const agentId = await registeredAgent(test.url, owner, store)
    const before = await readFile(store, 'utf8')
    const result = await runCli(['register', '--server', test.url, '--name', 'Second', '--store', store])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`countersign: ${store} already holds the session of agent ${agentId} at ${test.url}; run "countersign revoke --store ${store}" first, or pass another --store\n`)
    expect(await readFile(store, 'utf8')).toBe(before)
  })

  it('logs in an existing agent by id and by username, approved by its owner', async () => {
    const agentId = await registeredAgent(test.url, owner, store, 'Login agent')
    for (const who of [['--agent-id', agentId], ['--username', 'login-agent']]) {
      const other = join(dir, `login-${who[0]}.json`)
      const child = cli(['--json', 'login', '--server', test.url, ...who, '--store', other])
      const approval = await approvalOf(child)
      expect(approval.agentId).toBe(agentId)
      await owner.approve(approval.userCode)
      expect((await child.exited).code).toBe(0)
      expect(jsonLines(child.stdout()).at(-1)).toEqual({ type: 'authenticated', agentId, server: test.url, store: other })
      expect((await storedSession(other)).agentId).toBe(agentId)
    }
  })

  it('login needs exactly one of --agent-id and --username (exit code 2)', async () => {
    for (const args of [[], ['--agent-id', 'agt_x', '--username', 'x']]) {
      const result = await runCli(['login', '--server', test.url, '--store', store, ...args])
      expect(result.code).toBe(2)
      expect(result.stderr).toBe('countersign: login needs exactly one of --agent-id ID or --username HANDLE (run "countersign login --help" for usage)\n')
    }
  })

  it('login of an unknown agent fails with the server\'s reason and exit code 1', async () => {
    const result = await runCli(['login', '--server', test.url, '--agent-id', 'agt_nobody', '--store', store])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('countersign: the device authorization endpoint answered invalid_request (400): there is no active agent with that agent_id\n')
  })

  it('refuses a --server that is not an http(s) URL (exit code 2)', async () => {
    const result = await runCli(['register', '--server', 'ftp://example.test', '--name', 'x', '--store', store])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--server must be an http(s) URL (got "ftp://example.test")')
  })
})
