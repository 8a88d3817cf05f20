import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startTestServer, TestOwner, type TestServer } from '../support/server.js'
import { runExample, secretsIn, stopExamples, userCodeOf } from './support.js'

describe('examples/autonomous-agent.ts', () => {
  let server: TestServer
  let owner: TestOwner
  let env: NodeJS.ProcessEnv
  let storePath: string

  beforeEach(async () => {
    server = await startTestServer()
    owner = await TestOwner.create(server.url)
    storePath = join(server.dir, 'agent.json')
    env = { COUNTERSIGN_SERVER: server.url, AGENT_STORE: storePath, AGENT_NAME: 'Example Agent' }
  })
  afterEach(async () => {
    await stopExamples()
    await server.dispose()
  })

  it('registers, waits for the approval it printed, calls /api/agent/me, and resumes the saved session on the next run without asking again', async () => {
    const first = runExample('autonomous-agent', env)
    const [, approvalUrl] = await first.waitForLine(/^approve this agent at (\S+)$/)
    const userCode = userCodeOf(approvalUrl!)
    expect(approvalUrl).toBe(`${server.url}/device?user_code=${userCode}`)
    // The two lines may come in separate chunks: wait for the second one too.
    const [, typedCode, page] = await first.waitForLine(/^\(or enter the code (\S+) at (\S+)\)$/)
    expect([typedCode, page]).toEqual([userCode, `${server.url}/device`])

    await owner.approve(userCode)
    expect(await first.exited).toEqual({ code: 0, signal: null })
    const agentId = first.stdout().match(/^approved: signed in as (agt_\S+)$/m)?.[1]
    expect(agentId).toBeDefined()
    expect(first.stdout()).toContain(`the server says: Example Agent (@example-agent, ${agentId}), scope "agent"`)
    expect(first.stderr()).toBe('')

    const secrets = await secretsIn(storePath)
    expect((await stat(storePath)).mode & 0o777).toBe(0o600)

    const second = runExample('autonomous-agent', env)
    expect(await second.exited).toEqual({ code: 0, signal: null })
    expect(second.stdout()).toContain(`resumed the saved session of ${agentId}`)
    expect(second.stdout()).not.toContain('approve this agent')
    expect(second.stdout()).toContain(`the server says: Example Agent (@example-agent, ${agentId})`)

    for (const secret of secrets) {
      for (const output of [first.stdout(), first.stderr(), second.stdout(), second.stderr()]) expect(output).not.toContain(secret)
    }
  })

  it('picks up the same approval request when it was stopped while waiting', async () => {
    const first = runExample('autonomous-agent', env)
    const [, approvalUrl] = await first.waitForLine(/^approve this agent at (\S+)$/)
    first.process.kill('SIGKILL')
    await first.exited

    const second = runExample('autonomous-agent', env)
    const [, resumedUrl] = await second.waitForLine(/^approve this agent at (\S+)$/)
    expect(resumedUrl).toBe(approvalUrl)
    await owner.approve(userCodeOf(approvalUrl!))
    expect(await second.exited).toEqual({ code: 0, signal: null })
    expect(second.stdout()).toMatch(/^the server says: Example Agent \(@example-agent, agt_\S+\), scope "agent"$/m)
  })

  it('exits with status 1 and says approval_denied when the owner denies', async () => {
    const child = runExample('autonomous-agent', env)
    const [, approvalUrl] = await child.waitForLine(/^approve this agent at (\S+)$/)
    await owner.deny(userCodeOf(approvalUrl!))
    expect(await child.exited).toEqual({ code: 1, signal: null })
    expect(child.stderr()).toMatch(/^failed \(approval_denied\): .*denied/m)
    expect(child.stdout()).not.toContain('the server says')
  })
})
