import { describe, expect, it } from 'vitest'
import { AUTH_SNAPSHOT_SCHEMA_VERSION, authMachine } from '../../machines/auth.js'
import { SimulatedClock } from '../support/simulated-clock.js'
import { answerPoll, FakeEffects, startAuth, T0, tokenSet, toPendingApproval, toSignedIn, type Harness } from './auth.harness.js'

/** What the runtime does: save the persisted snapshot as JSON, stop; later, a fresh process reads it. */
function saveAndStop(h: Harness): unknown {
  const text = JSON.stringify(h.actor.getPersistedSnapshot())
  h.actor.stop()
  return JSON.parse(text)
}

function restoreAt(snapshot: unknown, now: number): Harness {
  return startAuth({ snapshot: snapshot as never, clock: new SimulatedClock(now) })
}

describe('auth machine: restore from a persisted snapshot', () => {
  it('exports the schema version of the persisted envelope', () => {
    expect(AUTH_SNAPSHOT_SCHEMA_VERSION).toBe(1)
  })

  it('has no delayed transitions: every wait is a sleepUntil on an absolute time in context', () => {
    const nodes = [authMachine.root]
    for (let i = 0; i < nodes.length; i++) nodes.push(...Object.values(nodes[i]!.states))
    expect(nodes.length).toBeGreaterThan(20)
    expect(nodes.filter((node) => node.after.length > 0).map((node) => node.id)).toEqual([])
  })

  it('wakes a restored wait at the saved absolute time, sleeping only for what is left', async () => {
    const h = startAuth()
    await toPendingApproval(h, { intervalMs: 60_000, expiresAt: T0 + 3_600_000 })
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    await answerPoll(h, { kind: 'pending' })
    expect(h.actor.getSnapshot().context.nextPollAt).toBe(T0 + 60_000)
    await h.clock.advanceBy(1000)
    const saved = saveAndStop(h)

    // The process died; a new one starts 29 s later.
    const r = restoreAt(saved, T0 + 30_000)
    expect(r.state()).toEqual({ pendingApproval: 'waiting' })
    expect(r.effects.sleeps.sort()).toEqual([T0 + 60_000, T0 + 3_600_000])
    await r.clock.advanceTo(T0 + 59_999)
    expect(r.effects.count('pollApproval')).toBe(0)
    await r.clock.advanceTo(T0 + 60_000)
    expect(r.effects.open('pollApproval').input).toEqual({ deviceCode: 'dc-secret', waitSeconds: null })
    expect(r.emitted).toEqual([{ type: 'pollAttempt', attempt: 2, at: T0 + 60_000 }])
  })

  it('polls at once when the restored next poll time has already passed', async () => {
    const h = startAuth()
    await toPendingApproval(h, { intervalMs: 60_000, expiresAt: T0 + 3_600_000 })
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    await answerPoll(h, { kind: 'pending' })
    const r = restoreAt(saveAndStop(h), T0 + 120_000)
    await r.clock.settle()
    expect(r.effects.count('pollApproval')).toBe(1)
  })

  it('ends a restored wait whose caller deadline passed while the process was down', async () => {
    const h = startAuth()
    await toPendingApproval(h, { intervalMs: 60_000, expiresAt: T0 + 3_600_000 })
    h.actor.send({ type: 'WAIT', at: T0, deadline: T0 + 30_000 })
    await h.clock.settle()
    await answerPoll(h, { kind: 'pending' })
    const r = restoreAt(saveAndStop(h), T0 + 45_000)
    await r.clock.settle()
    expect(r.state()).toBe('signedOut')
    expect(r.actor.getSnapshot().context.failure).toEqual({ code: 'approval_timeout', message: 'gave up waiting for approval: the timeout passed', at: T0 + 45_000 })
    expect(r.effects.count('pollApproval')).toBe(0)
  })

  it('re-sends a poll that was in flight, reading only context', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    h.effects.open('pollApproval')
    const r = restoreAt(saveAndStop(h), T0 + 5_000)
    await r.clock.settle()
    expect(r.effects.open('pollApproval').input).toEqual({ deviceCode: 'dc-secret', waitSeconds: null })
    await answerPoll(r, { kind: 'tokens', tokens: tokenSet(T0 + 5_000) })
    expect(r.state()).toEqual({ signedIn: { active: 'scheduled' } })
  })

  it('repeats a register request that was in flight with the saved Idempotency-Key', async () => {
    const h = startAuth()
    h.actor.send({ type: 'REGISTER', name: 'My Agent', idempotencyKey: 'key-1' })
    await h.clock.settle()
    h.effects.open('startApproval')
    const r = restoreAt(saveAndStop(h), T0 + 2_000)
    await r.clock.settle()
    expect(r.effects.log).toEqual(['startApproval'])
    expect(r.effects.open('startApproval').input).toEqual({ request: { agent: { intent: 'register', name: 'My Agent' }, scope: null }, idempotencyKey: 'key-1' })
  })

  it('restored while signed in, refreshes at the stored refreshAt without a new approval', async () => {
    const h = startAuth()
    await toSignedIn(h, tokenSet(T0))
    const r = restoreAt(saveAndStop(h), T0 + 600_000)
    expect(r.actor.getSnapshot().hasTag('published')).toBe(true)
    await r.clock.advanceTo(T0 + 3_540_000 - 1)
    expect(r.effects.log).toEqual([])
    await r.clock.advanceTo(T0 + 3_540_000)
    expect(r.effects.log).toEqual(['refreshTokens'])
  })

  it('restored while saving tokens, saves them again before publishing', async () => {
    const h = startAuth()
    h.effects.autoPersist = false
    h.actor.send({ type: 'SET_TOKENS', tokens: tokenSet(T0) })
    await h.clock.settle()
    const clock = new SimulatedClock(T0 + 1)
    const effects = new FakeEffects(clock)
    effects.autoPersist = false
    const r = startAuth({ snapshot: saveAndStop(h) as never, clock, effects })
    await r.clock.settle()
    expect(r.actor.getSnapshot().hasTag('published')).toBe(false)
    expect(r.effects.open('persist').input).toEqual({ reason: 'tokens', tokens: tokenSet(T0) })
    r.effects.open('persist').resolve({ at: T0 + 2 })
    await r.clock.settle()
    expect(r.actor.getSnapshot().hasTag('published')).toBe(true)
  })

  it('keeps its context as plain JSON in every kind of state', async () => {
    const h = startAuth()
    const contexts: unknown[] = []
    h.actor.subscribe((s) => contexts.push(s.context))
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0, deadline: T0 + 60_000 })
    await h.clock.settle()
    h.effects.open('pollApproval').reject(new Error('reset'))
    await h.clock.advanceBy(5_000)
    await answerPoll(h, { kind: 'tokens', tokens: tokenSet(h.clock.now()) })
    h.actor.send({ type: 'REVOKE', at: h.clock.now() })
    await h.clock.settle()
    expect(contexts.length).toBeGreaterThan(8)
    for (const context of contexts) expect(JSON.parse(JSON.stringify(context))).toEqual(context)
  })
})
