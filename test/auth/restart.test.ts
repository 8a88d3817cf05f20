/**
 * The agent runtime across process restarts: agent processes on a FileStore,
 * killed with SIGKILL at the worst moments, against the real server (behind
 * a proxy that counts what reaches it and can hold an answer).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startAgent, eventually, startBed, type AgentProcess, type Bed } from './support/bed.js'
import { isDeviceAuthorization, isRefreshGrant, type ProxiedAnswer } from './support/proxy.js'

// Each test starts agent processes (node + tsx): slow on a busy machine, so the limit is generous.
describe('AuthManager across restarts (separate processes, FileStore, kill -9)', { timeout: 60_000 }, () => {
  let bed: Bed
  let agents: AgentProcess[]
  let storePath: string

  beforeEach(async () => {
    bed = await startBed({ interval: 1, accessTtl: 5, refreshGrace: 30 })
    agents = []
    storePath = join(bed.dir, 'session.json')
  })

  afterEach(async () => {
    for (const agent of agents) await agent.kill()
    await bed.dispose()
  })

  const agent = (env: Record<string, string> = {}) => {
    const started = startAgent({ CS_URL: bed.url, CS_STORE: storePath, ...env })
    agents.push(started)
    return started
  }

  const storedSession = async () => JSON.parse(await readFile(storePath, 'utf8')).session as { accessToken: string; accessExpiresAt: number; machine: { snapshot: { value: unknown } } }

  it('resumes polling the same approval after being killed while waiting, and the server holds one agent', async () => {
    const first = agent()
    const handle = await first.next('handle')
    // Killed as soon as register() resolved: the handle is handed out only once the pending approval is saved.
    await first.kill()
    expect(JSON.stringify((await storedSession()).machine.snapshot.value)).toContain('pendingApproval')

    const second = agent()
    const resumed = await second.next('resumed')
    expect(resumed).toMatchObject({ result: 'pending', userCode: handle.userCode })
    await bed.owner.approve(handle.userCode as string)
    const signedIn = await second.next('signedIn')

    expect(signedIn.agentId).toBe(handle.agentId)
    const agents = await bed.owner.request('GET', '/api/agents')
    expect(agents.body.map((a: { id: string }) => a.id)).toEqual([handle.agentId])
    expect((await bed.data()).approvals).toHaveLength(1)
    expect(bed.proxy.count(isDeviceAuthorization)).toBe(1)
  })

  it('repeats a register request that was in flight when it was killed, with the saved Idempotency-Key: one agent, one approval', async () => {
    let heldAnswer: ProxiedAnswer | null = null
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    bed.proxy.beforeAnswer = async (request, answer) => {
      if (isDeviceAuthorization(request) && heldAnswer === null) {
        heldAnswer = answer
        await held
      }
    }
    const first = agent()
    await eventually(() => heldAnswer !== null, 'the server to answer the register request')
    await first.kill()
    release()

    const second = agent()
    const handle = await second.next('handle')
    const firstAnswer = JSON.parse(heldAnswer!.body) as { user_code: string; agent_id: string }
    expect(handle).toMatchObject({ userCode: firstAnswer.user_code, agentId: firstAnswer.agent_id })

    const requests = bed.proxy.requests.filter(isDeviceAuthorization)
    expect(requests).toHaveLength(2)
    const key = requests[0]!.headers['idempotency-key']
    expect(key).toMatch(/^[0-9a-f-]{36}$/)
    expect(requests[1]!.headers['idempotency-key']).toBe(key)

    await bed.owner.approve(firstAnswer.user_code)
    await second.next('signedIn')
    const data = await bed.data()
    expect(data.agents).toHaveLength(1)
    expect(data.approvals).toHaveLength(1)
    expect(data.approvals[0]).toMatchObject({ idempotencyKey: key, status: 'approved' })
  })

  it('restarts signed in without a new approval, and refreshes at the stored expiry minus the skew', async () => {
    // Tokens live 6 s and refresh 2 s early: 4 s for the restart, even on a slow machine.
    await bed.dispose()
    bed = await startBed({ interval: 1, accessTtl: 6, refreshGrace: 30 })
    storePath = join(bed.dir, 'session.json')
    const first = agent({ CS_SKEW_MS: '2000' })
    const handle = await first.next('handle')
    await bed.owner.approve(handle.userCode as string)
    const signedIn = await first.next('signedIn')
    await first.kill()
    const stored = await storedSession()
    const refreshAt = stored.accessExpiresAt - 2000

    const second = agent({ CS_SKEW_MS: '2000' })
    const resumed = await second.next('resumed')
    expect(resumed).toMatchObject({ result: 'authenticated', refreshAt })
    expect((await second.next('signedIn')).accessHash).toBe(signedIn.accessHash)
    const refreshed = await second.next('refreshed')

    expect(refreshed.at).toBeGreaterThanOrEqual(refreshAt)
    expect(refreshed.at).toBeLessThan(stored.accessExpiresAt)
    expect(refreshed.accessHash).not.toBe(signedIn.accessHash)
    expect(bed.proxy.count(isDeviceAuthorization)).toBe(1)
    expect(bed.proxy.count(isRefreshGrant)).toBe(1)
  })

  it('gets the same successor pair back after a crash between the refresh answer and the store write', async () => {
    const first = agent({ CS_MODE: 'crash-on-refresh-answer' })
    const handle = await first.next('handle')
    await bed.owner.approve(handle.userCode as string)
    await first.next('signedIn')
    const answer = await first.next('refreshAnswer')
    expect(await first.child.exited).toEqual({ code: null, signal: 'SIGKILL' })
    expect((await storedSession()).machine.snapshot.value).toEqual({ signedIn: 'refreshing' })

    const second = agent()
    expect((await second.next('resumed')).result).toBe('authenticated')
    const refreshed = await second.next('refreshed')
    expect(refreshed.accessHash).toBe(answer.accessHash)

    const grants = bed.proxy.requests.filter(isRefreshGrant)
    expect(grants).toHaveLength(2)
    expect(grants[1]!.form.get('refresh_token')).toBe(grants[0]!.form.get('refresh_token'))
    // Still signed in: the stored token is the successor, and the server takes it.
    await eventually(async () => JSON.stringify((await storedSession()).machine.snapshot.value).includes('active'), 'the successor pair to be saved')
    const me = await fetch(`${bed.url}/api/agent/me`, { headers: { authorization: `Bearer ${(await storedSession()).accessToken}` } })
    expect(me.status).toBe(200)
    expect(((await me.json()) as { agent_id: string }).agent_id).toBe(handle.agentId)
  })
})

describe('AuthManager.dispose() in a process of its own', { timeout: 60_000 }, () => {
  let bed: Bed
  let agents: AgentProcess[]

  beforeEach(async () => {
    // Tokens live an hour: a timer dispose() left behind would keep the process alive far past the test's time limit.
    bed = await startBed({ interval: 1, accessTtl: 3600 })
    agents = []
  })

  afterEach(async () => {
    for (const agent of agents) await agent.kill()
    await bed.dispose()
  })

  const agent = (env: Record<string, string>) => {
    const started = startAgent({ CS_URL: bed.url, CS_STORE: join(bed.dir, 'session.json'), ...env })
    agents.push(started)
    return started
  }

  it('lets the process exit by itself once a signed-in manager with subscribed streams is disposed', async () => {
    const only = agent({ CS_MODE: 'dispose-when-signed-in' })
    const handle = await only.next('handle')
    await bed.owner.approve(handle.userCode as string)
    await only.next('disposed')
    expect(await only.child.exited).toEqual({ code: 0, signal: null })
  })

  it('lets the process exit by itself when the manager is disposed during a wait for approval, which ends with DISPOSED', async () => {
    const only = agent({ CS_MODE: 'dispose-while-waiting' })
    const ended = await only.next('waitEnded')
    expect(ended).toMatchObject({ name: 'CountersignError', code: 'disposed' })
    expect(await only.child.exited).toEqual({ code: 0, signal: null })
  })
})
