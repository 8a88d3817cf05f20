/**
 * Signing in through human approval, in process, against the real server:
 * register and login, and each way a wait for approval ends.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AbortError, ApprovalDeniedError, ApprovalExpiredError, ApprovalHandle, ApprovalTimeoutError, AuthManager, CountersignError, MemoryStore } from '../../src/index.js'
import { startBed, type Bed } from './support/bed.js'
import { isDeviceCodePoll } from './support/proxy.js'

describe('AuthManager: signing in through approval', () => {
  let bed: Bed
  let managers: AuthManager[]

  beforeEach(async () => {
    bed = await startBed({ interval: 1, accessTtl: 60 })
    managers = []
  })

  afterEach(async () => {
    for (const auth of managers) auth.dispose()
    await bed.dispose()
  })

  const manager = (store = new MemoryStore()) => {
    const auth = new AuthManager(bed.url, store)
    managers.push(auth)
    return auth
  }

  it('registers, hands out the approval to show a human, and is authenticated once the human approves', async () => {
    const store = new MemoryStore()
    const auth = manager(store)
    const handle = await auth.register({ name: 'Approval Agent' })

    expect(handle).toBeInstanceOf(ApprovalHandle)
    expect(handle.userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
    expect(handle.approvalUrl).toBe(`${bed.url}/device?user_code=${handle.userCode}`)
    expect(handle.verificationUri).toBe(`${bed.url}/device`)
    expect(handle.agentId).toMatch(/^agt_/)
    expect(handle.expiresAt).toBeGreaterThan(Date.now() + 23 * 3600_000)
    expect(auth.state).toBe('pendingApproval')
    expect(auth.agentId).toBe(handle.agentId)

    const attempts: number[] = []
    const waiting = handle.waitForApproval({ onPollAttempt: ({ attempt }) => attempts.push(attempt) })
    await bed.owner.approve(handle.userCode)
    await waiting

    expect(auth.state).toBe('authenticated')
    expect(attempts[0]).toBe(1)
    const token = await auth.tokenProvider()
    // Saved before it was handed out.
    expect((await store.load())?.accessToken).toBe(token)
    const me = await fetch(`${bed.url}/api/agent/me`, { headers: { authorization: `Bearer ${token}` } })
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({ agent_id: handle.agentId, name: 'Approval Agent' })
  })

  it('logs in an existing agent by id and by username, each approved by its owner', async () => {
    const first = manager()
    const registered = await first.register({ name: 'Login Agent', username: 'login-agent' })
    const registering = registered.waitForApproval()
    await bed.owner.approve(registered.userCode)
    await registering

    for (const params of [{ agentId: registered.agentId! }, { username: 'login-agent' }]) {
      const auth = manager()
      const handle = await auth.login(params)
      expect(handle.agentId).toBe(registered.agentId)
      const waiting = handle.waitForApproval()
      await bed.owner.approve(handle.userCode)
      await waiting
      expect(auth.agentId).toBe(registered.agentId)
      const approval = await bed.owner.request('GET', `/api/approvals/${handle.userCode}`)
      expect(approval.body).toMatchObject({ intent: 'login', status: 'approved' })
    }
  })

  it('rejects a login for an agent the server does not know with the server’s OAuth error', async () => {
    const auth = manager()
    const error = await auth.login({ agentId: 'agt_unknown' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({ code: 'oauth_error', status: 400, oauthError: 'invalid_request' })
    expect((error as Error).message).toMatch(/^the device authorization endpoint answered invalid_request \(400\)/)
    expect(auth.state).toBe('signedOut')
  })

  it('rejects the wait with ApprovalDeniedError when the human denies', async () => {
    const auth = manager()
    const handle = await auth.register({ name: 'Denied Agent' })
    const waiting = handle.waitForApproval().catch((e: unknown) => e)
    await bed.owner.deny(handle.userCode)
    const error = await waiting
    expect(error).toBeInstanceOf(ApprovalDeniedError)
    expect(error).toMatchObject({ name: 'ApprovalDeniedError', code: 'approval_denied', oauthError: 'access_denied' })
    expect((error as Error).message).toMatch(/^the approval request was denied/)
    expect(auth.state).toBe('signedOut')
    // The outcome stays: waiting again answers the same at once.
    await expect(handle.waitForApproval()).rejects.toBeInstanceOf(ApprovalDeniedError)
    await expect(auth.tokenProvider()).rejects.toMatchObject({ name: 'TokenRefreshError', code: 'not_authenticated' })
  })

  it('rejects the wait with ApprovalTimeoutError when the caller’s timeout passes first', async () => {
    const auth = manager()
    const handle = await auth.register({ name: 'Patient Agent' })
    const error = await handle.waitForApproval({ timeoutMs: 300 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApprovalTimeoutError)
    expect(error).toMatchObject({ name: 'ApprovalTimeoutError', code: 'approval_timeout', message: 'gave up waiting for approval: the timeout passed' })
    expect(auth.state).toBe('signedOut')
  })

  it('rejects the wait with AbortError when the caller’s signal aborts, and stops polling', async () => {
    const auth = manager()
    const handle = await auth.register({ name: 'Aborted Agent' })
    const controller = new AbortController()
    const waiting = handle.waitForApproval({ signal: controller.signal, onPollAttempt: () => controller.abort(new Error('the operator gave up')) })
    const error = await waiting.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect(error).toMatchObject({ name: 'AbortError', code: 'aborted', message: 'the wait for approval was aborted' })
    expect((error as Error).cause).toEqual(new Error('the operator gave up'))
    const polls = bed.proxy.count(isDeviceCodePoll)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(bed.proxy.count(isDeviceCodePoll)).toBe(polls)
  })

  it('rejects at once with AbortError when the signal was aborted before the wait', async () => {
    const auth = manager()
    const handle = await auth.register({ name: 'Never Waiting Agent' })
    const error = await handle.waitForApproval({ signal: AbortSignal.abort() }).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'AbortError', code: 'aborted', message: 'the wait for approval was aborted' })
    expect(bed.proxy.count(isDeviceCodePoll)).toBe(0)
  })

  it('rejects the wait with ApprovalExpiredError when the approval request expires', async () => {
    await bed.dispose()
    bed = await startBed({ interval: 1, approvalTtl: 1.5 })
    const auth = manager()
    const handle = await auth.register({ name: 'Forgotten Agent' })
    const error = await handle.waitForApproval().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApprovalExpiredError)
    expect(error).toMatchObject({ name: 'ApprovalExpiredError', code: 'approval_expired' })
    expect((error as Error).message).toMatch(/^the approval request expired before it was approved/)
  })

  it('ends a replaced approval: the old handle’s wait rejects with AbortError naming why', async () => {
    const auth = manager()
    const old = await auth.register({ name: 'First Try' })
    const fresh = await auth.register({ name: 'Second Try' })
    expect(fresh.userCode).not.toBe(old.userCode)
    await expect(old.waitForApproval()).rejects.toMatchObject({
      name: 'AbortError',
      code: 'aborted',
      message: 'the approval request was replaced by a new register() or login()',
    })
    const waiting = fresh.waitForApproval()
    await bed.owner.approve(fresh.userCode)
    await waiting
    expect(auth.agentId).toBe(fresh.agentId)
  })
})
