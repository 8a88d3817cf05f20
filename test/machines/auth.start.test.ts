import { describe, expect, it } from 'vitest'
import { approvalOf, networkFault, startAuth, T0 } from './auth.harness.js'

describe('auth machine: starting an approval', () => {
  it('starts signed out and does nothing until asked', async () => {
    const h = startAuth()
    await h.clock.advanceBy(3_600_000)
    expect(h.state()).toBe('signedOut')
    expect(h.effects.log).toEqual([])
  })

  it('saves the Idempotency-Key before the register request is sent', async () => {
    const h = startAuth()
    h.effects.autoPersist = false
    let savedSnapshot: any
    h.effects.onPersist = () => (savedSnapshot = JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot())))
    h.actor.send({ type: 'REGISTER', name: 'My Agent', username: 'my-agent', scope: 'agent', idempotencyKey: 'key-1' })
    await h.clock.settle()

    expect(h.state()).toEqual({ starting: 'savingRequest' })
    expect(h.effects.count('startApproval')).toBe(0)
    // What the runtime saves at this barrier already holds the key and the request.
    expect(savedSnapshot.value).toEqual({ starting: 'savingRequest' })
    expect(savedSnapshot.context).toMatchObject({
      idempotencyKey: 'key-1',
      request: { agent: { intent: 'register', name: 'My Agent', username: 'my-agent' }, scope: 'agent' },
    })

    h.effects.open('persist').resolve({ at: h.clock.now() })
    await h.clock.settle()
    expect(h.effects.log).toEqual(['persist:approvalRequest', 'startApproval'])
    expect(h.effects.open('startApproval').input).toEqual({
      request: { agent: { intent: 'register', name: 'My Agent', username: 'my-agent' }, scope: 'agent' },
      idempotencyKey: 'key-1',
    })
  })

  it('logs in by agent id, by username, or (on a plain provider) as whoever approves', async () => {
    const h = startAuth()
    h.actor.send({ type: 'LOGIN', agentId: 'agt_1', idempotencyKey: 'k1' })
    await h.clock.settle()
    expect(h.effects.open('startApproval').input.request).toEqual({ agent: { intent: 'login', agentId: 'agt_1' }, scope: null })
    h.actor.send({ type: 'LOGIN', username: 'my-agent', idempotencyKey: 'k2' })
    await h.clock.settle()
    expect(h.effects.open('startApproval').input.request).toEqual({ agent: { intent: 'login', username: 'my-agent' }, scope: null })
    h.actor.send({ type: 'LOGIN', scope: 'openid', idempotencyKey: 'k3' })
    await h.clock.settle()
    expect(h.effects.open('startApproval').input).toEqual({ request: { agent: null, scope: 'openid' }, idempotencyKey: 'k3' })
  })

  it('enters pendingApproval with the approval and emits approvalStarted without the device code', async () => {
    const h = startAuth()
    h.actor.send({ type: 'REGISTER', name: 'My Agent', idempotencyKey: 'key-1' })
    await h.clock.settle()
    h.effects.open('startApproval').resolve({ approval: approvalOf(T0, { intervalMs: 5000 }), longPoll: true, at: T0 })
    await h.clock.settle()

    expect(h.state()).toEqual({ pendingApproval: 'idle' })
    expect(h.actor.getSnapshot().context).toMatchObject({
      approvalExpiresAt: T0 + 600_000,
      agentId: 'agt_1',
      longPoll: true,
      approval: { deviceCode: 'dc-secret', intervalMs: 5000 },
    })
    expect(h.emitted).toEqual([
      {
        type: 'approvalStarted',
        at: T0,
        userCode: 'WDJB-MJHT',
        verificationUri: 'http://127.0.0.1:4000/device',
        verificationUriComplete: 'http://127.0.0.1:4000/device?user_code=WDJB-MJHT',
        agentId: 'agt_1',
        expiresAt: T0 + 600_000,
      },
    ])
    expect(JSON.stringify(h.emitted)).not.toContain('dc-secret')
  })

  it('retries a network fault with jittered, growing backoff and the same key', async () => {
    const h = startAuth()
    h.actor.send({ type: 'REGISTER', name: 'My Agent', idempotencyKey: 'key-1' })
    await h.clock.settle()
    const retryDelays: number[] = []
    for (let fault = 1; fault <= 3; fault++) {
      h.effects.open('startApproval').reject(networkFault(h.clock.now()))
      await h.clock.settle()
      expect(h.state()).toEqual({ starting: 'requestBackoff' })
      const { retryAt } = h.actor.getSnapshot().context
      retryDelays.push(retryAt! - h.clock.now())
      await h.clock.advanceTo(retryAt! - 1)
      expect(h.effects.count('startApproval')).toBe(fault)
      await h.clock.advanceTo(retryAt!)
      expect(h.effects.count('startApproval')).toBe(fault + 1)
    }
    // Equal jitter: each delay lies between half and all of 1 s, 2 s, 4 s.
    expect(retryDelays[0]).toBeGreaterThanOrEqual(500)
    expect(retryDelays[0]).toBeLessThanOrEqual(1000)
    expect(retryDelays[1]).toBeGreaterThanOrEqual(1000)
    expect(retryDelays[1]).toBeLessThanOrEqual(2000)
    expect(retryDelays[2]).toBeGreaterThanOrEqual(2000)
    expect(retryDelays[2]).toBeLessThanOrEqual(4000)
    expect(new Set(h.effects.calls.startApproval.map((c) => c.input.idempotencyKey))).toEqual(new Set(['key-1']))
    expect(h.emitted.filter((e) => e.type === 'faultRetry')).toHaveLength(3)
    expect(h.effects.log.filter((l) => l.startsWith('persist'))).toEqual(['persist:approvalRequest'])
  })

  it('gives up after maxStartAttempts network faults and records the last one', async () => {
    const h = startAuth({ input: { jitterSeed: 1, settings: { maxStartAttempts: 2 } } })
    h.actor.send({ type: 'REGISTER', name: 'My Agent', idempotencyKey: 'key-1' })
    await h.clock.settle()
    h.effects.open('startApproval').reject(networkFault(h.clock.now()))
    await h.clock.advanceBy(1000)
    h.effects.open('startApproval').reject(networkFault(h.clock.now(), 'the device authorization endpoint answered 503; try again later'))
    await h.clock.settle()
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context.failure).toEqual({
      code: 'network_error',
      message: 'the device authorization endpoint answered 503; try again later',
      at: h.clock.now(),
    })
    expect(h.emitted.at(-1)).toEqual({ type: 'approvalFailed', failure: h.actor.getSnapshot().context.failure })
  })

  it('ends at once on an OAuth error answer such as an unknown agent, keeping status and error', async () => {
    const h = startAuth()
    h.actor.send({ type: 'LOGIN', username: 'ghost', idempotencyKey: 'key-1' })
    await h.clock.settle()
    h.effects.open('startApproval').reject({
      code: 'oauth_error',
      message: 'the device authorization endpoint answered invalid_request (400): unknown agent',
      status: 400,
      oauthError: 'invalid_request',
      at: T0,
    })
    await h.clock.settle()
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context).toMatchObject({
      failure: { code: 'oauth_error', status: 400, oauthError: 'invalid_request', at: T0 },
      idempotencyKey: null,
      request: null,
    })
    expect(h.effects.count('startApproval')).toBe(1)
  })

  it('reads an Error without our fields as a network fault and retries it', async () => {
    const h = startAuth()
    h.actor.send({ type: 'REGISTER', name: 'My Agent', idempotencyKey: 'key-1' })
    await h.clock.settle()
    h.effects.open('startApproval').reject(new Error('socket hang up'))
    await h.clock.settle()
    expect(h.state()).toEqual({ starting: 'requestBackoff' })
    // With no time of its own, the fault is dated by the last clock reading the machine saw.
    expect(h.actor.getSnapshot().context.fault).toEqual({ code: 'network_error', message: 'socket hang up', at: T0 })
  })

  it('retries a failed save of the request and sends nothing until it is saved', async () => {
    const h = startAuth()
    h.effects.autoPersist = false
    h.actor.send({ type: 'REGISTER', name: 'My Agent', idempotencyKey: 'key-1' })
    await h.clock.settle()
    h.effects.open('persist').reject({ code: 'network_error', message: 'disk full', at: h.clock.now() })
    await h.clock.settle()
    expect(h.state()).toEqual({ starting: 'savingBackoff' })
    await h.clock.advanceBy(1000)
    expect(h.effects.count('startApproval')).toBe(0)
    h.effects.open('persist').resolve({ at: h.clock.now() })
    await h.clock.settle()
    expect(h.effects.log).toEqual(['persist:approvalRequest', 'persist:approvalRequest', 'startApproval'])
  })

  it('ABORT while starting cancels the request and records an aborted failure', async () => {
    const h = startAuth()
    h.actor.send({ type: 'REGISTER', name: 'My Agent', idempotencyKey: 'key-1' })
    await h.clock.settle()
    const call = h.effects.open('startApproval')
    h.actor.send({ type: 'ABORT', at: T0 + 5 })
    await h.clock.settle()
    expect(call.signal.aborted).toBe(true)
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context.failure).toEqual({ code: 'aborted', message: 'the approval request was aborted', at: T0 + 5 })
  })

  it('a second REGISTER replaces the first request, aborting it, with the new key', async () => {
    const h = startAuth()
    h.actor.send({ type: 'REGISTER', name: 'First', idempotencyKey: 'key-1' })
    await h.clock.settle()
    const first = h.effects.open('startApproval')
    h.actor.send({ type: 'REGISTER', name: 'Second', idempotencyKey: 'key-2' })
    await h.clock.settle()
    expect(first.signal.aborted).toBe(true)
    expect(h.effects.open('startApproval').input.idempotencyKey).toBe('key-2')
  })
})
