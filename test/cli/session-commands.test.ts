/**
 * `countersign status`, `token` and `revoke` on a session the CLI saved: the
 * server comes from the store, output in text and JSON, and exit code 3
 * when there is no session.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../support/process.js'
import { TestOwner, startTestServer, type TestServer } from '../support/server.js'
import { approvalOf, cli, jsonLines, registeredAgent, storedSession } from './helpers.js'

const NO_SESSION = (store: string) => `countersign: no session in ${store}: run "countersign register --server URL --name NAME" or "countersign login --server URL --agent-id ID" first\n`

describe('countersign status, token and revoke', () => {
  let test: TestServer
  let owner: TestOwner
  let dir: string
  let store: string
  let n = 0

  beforeAll(async () => {
    test = await startTestServer({ interval: 1 })
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

  it('status shows state, agent, server, expiries and store of a signed-in session', async () => {
    const agentId = await registeredAgent(test.url, owner, store)
    const text = await runCli(['status', '--store', store])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(new RegExp(`^state: +authenticated\\nagent: +${agentId}\\nserver: +${test.url}\\nscope: +agent\\naccess: +expires .*\\(in 59 min \\d+ s\\)\\nrefresh: +expires .*\\(in 29 days\\)\\nnext: +refresh .*\\nstore: +${store}\\n$`))

    const json = await runCli(['--json', 'status', '--store', store])
    expect(json.code).toBe(0)
    const session = await storedSession(store)
    expect(JSON.parse(json.stdout)).toEqual({
      type: 'status',
      state: 'authenticated',
      agentId,
      server: test.url,
      scope: 'agent',
      accessExpiresAt: new Date(session.accessExpiresAt).toISOString(),
      refreshExpiresAt: new Date(session.refreshExpiresAt).toISOString(),
      refreshAt: expect.stringMatching(/^\d{4}-/),
      approval: null,
      failure: null,
      store,
      heldByAnotherProcess: false,
    })
    expect(json.stdout + text.stdout).not.toContain(session.accessToken)
  })

  it('status exits 3 without a session, and still says which store it looked at', async () => {
    const text = await runCli(['status', '--store', store])
    expect(text.code).toBe(3)
    expect(text.stdout).toBe(`state:    signedOut\nstore:    ${store}\n`)
    expect(text.stderr).toBe(NO_SESSION(store))
    const json = await runCli(['--json', 'status', '--store', store])
    expect(json.code).toBe(3)
    const [status, error] = jsonLines(json.stdout)
    expect(status).toMatchObject({ type: 'status', state: 'signedOut', agentId: null, store })
    expect(error).toEqual({ type: 'error', code: 'not_authenticated', message: NO_SESSION(store).slice('countersign: '.length, -1), exitCode: 3 })
  })

  it('register --no-wait leaves the approval pending: status shows it, token refuses with exit 3, watch then waits for it', async () => {
    const started = cli(['--json', 'register', '--server', test.url, '--name', 'Later', '--store', store, '--no-wait'])
    const approval = await approvalOf(started)
    expect((await started.exited).code).toBe(0)
    expect(jsonLines(started.stdout()).at(-1)).toEqual({ type: 'pending', agentId: approval.agentId, expiresAt: approval.expiresAt, store })

    const status = await runCli(['--json', 'status', '--store', store])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'pendingApproval', agentId: approval.agentId, approval: { approvalUrl: approval.approvalUrl, userCode: approval.userCode, expiresAt: approval.expiresAt } })

    const token = await runCli(['token', '--store', store])
    expect(token.code).toBe(3)
    expect(token.stdout).toBe('')
    expect(token.stderr).toBe(`countersign: the approval is still pending (open ${approval.approvalUrl}, code ${approval.userCode}); "countersign watch --store ${store}" waits for it\n`)

    const watch = cli(['--json', 'watch', '--store', store])
    await watch.waitForLine(/^\{"type":"approvalStarted"/)
    await owner.approve(approval.userCode)
    const [following] = await watch.waitForLine(/^\{"type":"following".*\}$/)
    expect(JSON.parse(following)).toMatchObject({ agentId: approval.agentId, server: test.url, store })
    watch.process.kill('SIGINT')
    expect((await watch.exited).code).toBe(0)
    expect((await runCli(['token', '--store', store])).code).toBe(0)
  })

  it('reports an approval that expired while nobody waited as ended: status, token and watch exit 3 and say so', async () => {
    const shortLived = await startTestServer({ approvalTtl: 1 })
    try {
      const started = cli(['--json', 'register', '--server', shortLived.url, '--name', 'Forgotten', '--store', store, '--no-wait'])
      const approval = await approvalOf(started)
      expect((await started.exited).code).toBe(0)
      await new Promise((resolve) => setTimeout(resolve, Date.parse(approval.expiresAt) - Date.now() + 100))
      const status = await runCli(['status', '--store', store])
      expect(status.code).toBe(3)
      expect(status.stdout).toContain('state:    signedOut\n')
      expect(status.stdout).toContain('ended:    the approval request expired before it was approved\n')
      expect(status.stderr).toContain(`no session in ${store} (the last one ended: the approval request expired before it was approved)`)
      for (const command of ['token', 'watch']) expect((await runCli([command, '--store', store])).code).toBe(3)
    } finally {
      await shortLived.dispose()
    }
  })

  it('token prints only the access token, which the server accepts as a Bearer token', async () => {
    const agentId = await registeredAgent(test.url, owner, store, 'Curl agent')
    const result = await runCli(['token', '--store', store])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)
    // What `curl -H "Authorization: Bearer $(countersign token)"` sends.
    const me = await fetch(`${test.url}/api/agent/me`, { headers: { authorization: `Bearer ${result.stdout.trim()}` } })
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({ agent_id: agentId, name: 'Curl agent' })

    const json = await runCli(['--json', 'token', '--store', store])
    const session = await storedSession(store)
    expect(JSON.parse(json.stdout)).toEqual({ type: 'token', accessToken: session.accessToken, tokenType: 'Bearer', expiresAt: new Date(session.accessExpiresAt).toISOString(), agentId })
  })

  it('token exits 3 without a session and prints nothing on stdout', async () => {
    const result = await runCli(['token', '--store', store])
    expect(result.code).toBe(3)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(NO_SESSION(store))
  })

  it('revoke revokes at the server and clears the store; afterwards status and token exit 3', async () => {
    const agentId = await registeredAgent(test.url, owner, store)
    const { accessToken } = await storedSession(store)
    const result = await runCli(['--json', 'revoke', '--store', store])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ type: 'revoked', agentId, server: test.url, confirmed: true, wasPending: false, store })
    expect(await storedSession(store)).toBeNull()
    const me = await fetch(`${test.url}/api/agent/me`, { headers: { authorization: `Bearer ${accessToken}` } })
    expect(me.status).toBe(401)
    expect((await runCli(['status', '--store', store])).code).toBe(3)
    expect((await runCli(['token', '--store', store])).code).toBe(3)
    const again = await runCli(['revoke', '--store', store])
    expect(again.code).toBe(3)
    expect(again.stderr).toBe(NO_SESSION(store))
  })

  it('revoke clears the store but exits 5 when the server cannot confirm', async () => {
    const other = await startTestServer({ interval: 1 })
    try {
      const otherOwner = await TestOwner.create(other.url)
      const agentId = await registeredAgent(other.url, otherOwner, store)
      await other.stop()
      const result = await runCli(['revoke', '--store', store])
      expect(result.code).toBe(5)
      expect(result.stdout).toBe(`Cleared the session of agent ${agentId} from ${store}.\n`)
      expect(result.stderr).toBe(`countersign: the local session was cleared, but the server at ${other.url} did not confirm the revocation; its tokens stay valid until they expire\n`)
      expect(await storedSession(store)).toBeNull()
    } finally {
      await other.dispose()
    }
  })
})
