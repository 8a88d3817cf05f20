import { describe, expect, it } from 'vitest'
import { answerPoll, networkFault, startAuth, T0, tokenSet, toPendingApproval, type Harness } from './auth.harness.js'

/** Moves to the next poll and returns the time it went out. */
async function nextPoll(h: Harness): Promise<number> {
  const at = h.actor.getSnapshot().context.nextPollAt!
  await h.clock.advanceTo(at)
  h.effects.open('pollApproval')
  return h.clock.now()
}

describe('auth machine: waiting for approval', () => {
  it('does not poll until someone waits, then polls at once', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    await h.clock.advanceBy(60_000)
    expect(h.effects.count('pollApproval')).toBe(0)
    h.actor.send({ type: 'WAIT', at: h.clock.now() })
    await h.clock.settle()
    expect(h.state()).toEqual({ pendingApproval: 'polling' })
    expect(h.effects.open('pollApproval').input).toEqual({ deviceCode: 'dc-secret', waitSeconds: null })
    expect(h.emitted.filter((e) => e.type === 'pollAttempt')).toEqual([{ type: 'pollAttempt', attempt: 1, at: T0 + 60_000 }])
  })

  it('polls every 3 s when neither the server nor the caller names an interval', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    await answerPoll(h, { kind: 'pending' })
    expect(h.state()).toEqual({ pendingApproval: 'waiting' })
    expect(h.actor.getSnapshot().context.nextPollAt).toBe(T0 + 3000)
    await h.clock.advanceTo(T0 + 2999)
    expect(h.effects.count('pollApproval')).toBe(1)
    await h.clock.advanceTo(T0 + 3000)
    expect(h.effects.count('pollApproval')).toBe(2)
  })

  it("honours the server's interval over a shorter one the caller asks for, and the caller's when longer", async () => {
    const h = startAuth()
    await toPendingApproval(h, { intervalMs: 5000 })
    h.actor.send({ type: 'WAIT', at: T0, intervalMs: 1000 })
    await h.clock.settle()
    await answerPoll(h, { kind: 'pending' })
    expect(h.actor.getSnapshot().context.nextPollAt).toBe(T0 + 5000)

    const g = startAuth()
    await toPendingApproval(g, { intervalMs: 5000 })
    g.actor.send({ type: 'WAIT', at: T0, intervalMs: 8000 })
    await g.clock.settle()
    await answerPoll(g, { kind: 'pending' })
    expect(g.actor.getSnapshot().context.nextPollAt).toBe(T0 + 8000)
  })

  it('adds 5 s to the interval for good on slow_down', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    await answerPoll(h, { kind: 'slowDown' })
    expect(h.actor.getSnapshot().context.nextPollAt).toBe(T0 + 8000)
    const second = await nextPoll(h)
    await answerPoll(h, { kind: 'pending' })
    expect(h.actor.getSnapshot().context.nextPollAt).toBe(second + 8000)
    await nextPoll(h)
    await answerPoll(h, { kind: 'slowDown' })
    expect(h.actor.getSnapshot().context).toMatchObject({ intervalPenaltyMs: 10_000, nextPollAt: h.clock.now() + 13_000 })
  })

  it('long-polls when the server supports it and polls again as soon as the interval since sending allows', async () => {
    const h = startAuth()
    await toPendingApproval(h, { intervalMs: 3000 }, true)
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    expect(h.effects.open('pollApproval').input).toEqual({ deviceCode: 'dc-secret', waitSeconds: 25 })
    // The server held the request for 25 s: the next one goes out at once.
    await h.clock.advanceBy(25_000)
    await answerPoll(h, { kind: 'pending' }, T0)
    expect(h.actor.getSnapshot().context.nextPollAt).toBe(T0 + 25_000)
    await h.clock.settle()
    expect(h.effects.count('pollApproval')).toBe(2)
    // A pending answer after 1 s still waits out the interval counted from sending.
    const sentAt = h.clock.now()
    await h.clock.advanceBy(1000)
    await answerPoll(h, { kind: 'pending' }, sentAt)
    expect(h.actor.getSnapshot().context.nextPollAt).toBe(sentAt + 3000)
  })

  it('asks a long-poll to wait no longer than what is left before the caller deadline', async () => {
    const h = startAuth()
    await toPendingApproval(h, {}, true)
    h.actor.send({ type: 'WAIT', at: T0, deadline: T0 + 7_500 })
    await h.clock.settle()
    expect(h.effects.open('pollApproval').input.waitSeconds).toBe(7)
  })

  it('backs off on network faults and 5xx while polling, never signing out, capped at backoffMaxMs', async () => {
    const h = startAuth()
    await toPendingApproval(h, { expiresAt: T0 + 86_400_000 })
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    const gaps: number[] = []
    for (let fault = 1; fault <= 10; fault++) {
      const failure = fault % 2 ? networkFault(h.clock.now()) : { code: 'network_error', message: 'the token endpoint answered 503', status: 503, at: h.clock.now() }
      h.effects.open('pollApproval').reject(failure)
      await h.clock.settle()
      expect(h.state()).toEqual({ pendingApproval: 'waiting' })
      gaps.push(h.actor.getSnapshot().context.nextPollAt! - h.clock.now())
      await nextPoll(h)
    }
    expect(gaps.every((gap) => gap >= 3000 && gap <= 30_000)).toBe(true)
    expect(gaps.slice(-3).every((gap) => gap >= 15_000)).toBe(true)
    expect(h.emitted.filter((e) => e.type === 'faultRetry')).toHaveLength(10)
    // The first answer resets the backoff.
    await answerPoll(h, { kind: 'pending' })
    expect(h.actor.getSnapshot().context).toMatchObject({ faults: 0, nextPollAt: h.clock.now() + 3000 })
  })

  it('treats a malformed answer like a network fault', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    h.effects.open('pollApproval').reject({ code: 'invalid_response', message: 'the token endpoint answered 200 with malformed JSON', status: 200, at: T0 })
    await h.clock.settle()
    expect(h.state()).toEqual({ pendingApproval: 'waiting' })
  })

  it.each([
    [{ kind: 'denied', description: 'no' }, { code: 'approval_denied', message: 'the approval request was denied: no', oauthError: 'access_denied', status: 400 }],
    [{ kind: 'expired', description: null }, { code: 'approval_expired', message: 'the approval request expired before it was approved', oauthError: 'expired_token', status: 400 }],
    [
      { kind: 'invalidGrant', description: null },
      { code: 'oauth_error', message: 'the server no longer knows this approval request (invalid_grant)', oauthError: 'invalid_grant', status: 400 },
    ],
  ])('ends the flow on the answer %j', async (result, failure) => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    await answerPoll(h, result)
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context).toMatchObject({ failure: { ...failure, at: T0 }, approval: null, nextPollAt: null })
    expect(h.emitted.at(-1)).toEqual({ type: 'approvalFailed', failure: { ...failure, at: T0 } })
    await h.clock.advanceBy(60_000)
    expect(h.effects.count('pollApproval')).toBe(1)
  })

  it('ends the flow on an OAuth error outside the polling table', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    h.effects.open('pollApproval').reject({ code: 'oauth_error', message: 'the token endpoint answered invalid_client (401)', status: 401, oauthError: 'invalid_client', at: T0 })
    await h.clock.settle()
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context.failure).toMatchObject({ code: 'oauth_error', oauthError: 'invalid_client', status: 401 })
  })

  it('gives up at the caller deadline between polls', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0, deadline: T0 + 4000 })
    await h.clock.settle()
    await answerPoll(h, { kind: 'pending' })
    await nextPoll(h)
    await answerPoll(h, { kind: 'pending' })
    await h.clock.advanceTo(T0 + 4000)
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context.failure).toEqual({ code: 'approval_timeout', message: 'gave up waiting for approval: the timeout passed', at: T0 + 4000 })
    expect(h.effects.count('pollApproval')).toBe(2)
  })

  it('gives up at the caller deadline during a hung poll, aborting it', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0, deadline: T0 + 10_000 })
    await h.clock.settle()
    const hung = h.effects.open('pollApproval')
    await h.clock.advanceTo(T0 + 10_000)
    expect(hung.signal.aborted).toBe(true)
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context.failure?.code).toBe('approval_timeout')
  })

  it('ends with approval_expired when the approval expires, also while nobody waits', async () => {
    const h = startAuth()
    await toPendingApproval(h, { expiresAt: T0 + 60_000 })
    await h.clock.advanceTo(T0 + 60_000)
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context.failure).toEqual({ code: 'approval_expired', message: 'the approval request expired before it was approved', at: T0 + 60_000 })

    const g = startAuth()
    await toPendingApproval(g, { expiresAt: T0 + 60_000 })
    g.actor.send({ type: 'WAIT', at: T0, deadline: T0 + 120_000 })
    await g.clock.settle()
    await answerPoll(g, { kind: 'pending' })
    await g.clock.advanceTo(T0 + 60_000)
    expect(g.actor.getSnapshot().context.failure?.code).toBe('approval_expired')
  })

  it('ABORT ends the wait, aborting the poll in flight', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    const poll = h.effects.open('pollApproval')
    h.actor.send({ type: 'ABORT', at: T0 + 1 })
    await h.clock.settle()
    expect(poll.signal.aborted).toBe(true)
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context.failure).toEqual({ code: 'aborted', message: 'the wait for approval was aborted', at: T0 + 1 })
    expect(h.clock.pendingTimers).toBe(0)
  })

  it('a WAIT while polling keeps the poll and takes the new deadline', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    const poll = h.effects.open('pollApproval')
    h.actor.send({ type: 'WAIT', at: T0, deadline: T0 + 5000, intervalMs: 4000 })
    await h.clock.settle()
    expect(poll.signal.aborted).toBe(false)
    expect(h.actor.getSnapshot().context).toMatchObject({ callerDeadline: T0 + 5000, callerIntervalMs: 4000 })
  })

  it('an approval saves the tokens before they are published, then signs in', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.effects.autoPersist = false
    let atSave: { tags: boolean; tokens: unknown; value: unknown } | undefined
    h.effects.onPersist = () => {
      const s = h.actor.getSnapshot()
      atSave = { tags: s.hasTag('published'), tokens: s.context.tokens, value: s.value }
    }
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    const tokens = tokenSet(T0, { agentId: null })
    await answerPoll(h, { kind: 'tokens', tokens })
    expect(atSave).toEqual({ tags: false, tokens: null, value: { savingTokens: 'saving' } })
    expect(h.effects.open('persist').input).toEqual({ reason: 'tokens', tokens: { ...tokens, agentId: 'agt_1' } })
    expect(h.emitted.some((e) => e.type === 'authenticated')).toBe(false)

    h.effects.open('persist').resolve({ at: T0 + 2 })
    await h.clock.settle()
    const snapshot = h.actor.getSnapshot()
    expect(snapshot.hasTag('published')).toBe(true)
    expect(snapshot.value).toEqual({ signedIn: { active: 'scheduled' } })
    expect(snapshot.context).toMatchObject({ tokens: { ...tokens, agentId: 'agt_1' }, unsavedTokens: null, approval: null, agentId: 'agt_1' })
    expect(h.emitted.at(-1)).toEqual({ type: 'authenticated', at: T0 + 2, agentId: 'agt_1' })
  })
})
