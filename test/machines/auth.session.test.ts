import { describe, expect, it } from 'vitest'
import { networkFault, startAuth, T0, tokenSet, toPendingApproval, toSignedIn } from './auth.harness.js'

const HOUR = 3_600_000

describe('auth machine: keeping the session alive', () => {
  it('SET_TOKENS saves the given tokens first, then publishes them', async () => {
    const h = startAuth()
    h.effects.autoPersist = false
    const tokens = tokenSet(T0)
    h.actor.send({ type: 'SET_TOKENS', tokens })
    await h.clock.settle()
    expect(h.state()).toEqual({ savingTokens: 'saving' })
    expect(h.actor.getSnapshot().hasTag('published')).toBe(false)
    h.effects.open('persist').resolve({ at: T0 })
    await h.clock.settle()
    expect(h.actor.getSnapshot().hasTag('published')).toBe(true)
    expect(h.actor.getSnapshot().context).toMatchObject({ tokens, refreshAt: T0 + HOUR - 60_000, agentId: 'agt_1' })
  })

  it('SET_TOKENS during a pending approval abandons it', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'WAIT', at: T0 })
    await h.clock.settle()
    const poll = h.effects.open('pollApproval')
    await toSignedIn(h)
    expect(poll.signal.aborted).toBe(true)
    expect(h.state()).toEqual({ signedIn: { active: 'scheduled' } })
    expect(h.actor.getSnapshot().context.approval).toBeNull()
  })

  it('refreshes at access expiry minus the skew, saves the rotated set, then publishes it', async () => {
    const h = startAuth()
    await toSignedIn(h)
    await h.clock.advanceTo(T0 + HOUR - 60_001)
    expect(h.effects.count('refreshTokens')).toBe(0)
    await h.clock.advanceTo(T0 + HOUR - 60_000)
    expect(h.effects.open('refreshTokens').input).toEqual({ refreshToken: `rt-${T0}` })
    expect(h.actor.getSnapshot().hasTag('published')).toBe(true)

    h.effects.autoPersist = false
    const rotated = tokenSet(h.clock.now())
    h.effects.open('refreshTokens').resolve({ tokens: rotated, at: h.clock.now() })
    await h.clock.settle()
    // While the rotated set is being saved, the saved (old) one is what may be published.
    expect(h.state()).toEqual({ signedIn: 'saving' })
    expect(h.actor.getSnapshot().context.tokens?.accessToken).toBe(`at-${T0}`)
    expect(h.effects.open('persist').input).toEqual({ reason: 'tokens', tokens: rotated })
    h.effects.open('persist').resolve({ at: h.clock.now() })
    await h.clock.settle()
    expect(h.actor.getSnapshot().context).toMatchObject({ tokens: rotated, unsavedTokens: null, refreshAt: rotated.accessExpiresAt! - 60_000 })
    expect(h.emitted.filter((e) => e.type === 'refreshed')).toEqual([{ type: 'refreshed', at: h.clock.now() }])
  })

  it('refreshes a token that lives shorter than the skew at half its life, not in a loop', async () => {
    const h = startAuth()
    await toSignedIn(h, tokenSet(T0, { accessExpiresAt: T0 + 20_000 }))
    expect(h.actor.getSnapshot().context.refreshAt).toBe(T0 + 10_000)
  })

  it('keeps the refresh token when the server rotates none', async () => {
    const h = startAuth()
    await toSignedIn(h)
    h.actor.send({ type: 'REFRESH' })
    await h.clock.settle()
    h.effects.open('refreshTokens').resolve({ tokens: tokenSet(T0 + 1, { refreshToken: null, refreshExpiresAt: null, agentId: null }), at: T0 + 1 })
    await h.clock.settle()
    expect(h.actor.getSnapshot().context.tokens).toMatchObject({ accessToken: `at-${T0 + 1}`, refreshToken: `rt-${T0}`, agentId: 'agt_1' })
  })

  it('starts exactly one refresh however many REFRESH events arrive', async () => {
    const h = startAuth()
    await toSignedIn(h)
    for (let i = 0; i < 1000; i++) h.actor.send({ type: 'REFRESH' })
    await h.clock.settle()
    for (let i = 0; i < 1000; i++) h.actor.send({ type: 'REFRESH' })
    await h.clock.settle()
    expect(h.effects.count('refreshTokens')).toBe(1)
    h.effects.open('refreshTokens').resolve({ tokens: tokenSet(T0 + 5), at: T0 + 5 })
    await h.clock.settle()
    expect(h.effects.count('refreshTokens')).toBe(1)
    expect(h.state()).toEqual({ signedIn: { active: 'scheduled' } })
  })

  it('retries refresh network faults with backoff, staying signed in and published', async () => {
    const h = startAuth()
    await toSignedIn(h)
    h.actor.send({ type: 'REFRESH' })
    await h.clock.settle()
    for (let fault = 1; fault <= 6; fault++) {
      h.effects.open('refreshTokens').reject(networkFault(h.clock.now()))
      await h.clock.settle()
      expect(h.state()).toEqual({ signedIn: 'backoff' })
      expect(h.actor.getSnapshot().hasTag('published')).toBe(true)
      h.actor.send({ type: 'REFRESH' }) // ignored: the retry is already scheduled
      await h.clock.advanceTo(h.actor.getSnapshot().context.retryAt!)
      expect(h.effects.count('refreshTokens')).toBe(fault + 1)
    }
    const retries = h.emitted.filter((e) => e.type === 'refreshFailed')
    expect(retries).toHaveLength(6)
    expect(retries.every((e) => e.type === 'refreshFailed' && e.retryAt !== null && e.failure.code === 'network_error')).toBe(true)
    h.effects.open('refreshTokens').resolve({ tokens: tokenSet(h.clock.now()), at: h.clock.now() })
    await h.clock.settle()
    expect(h.state()).toEqual({ signedIn: { active: 'scheduled' } })
    expect(h.actor.getSnapshot().context.faults).toBe(0)
  })

  it('ends the session once on invalid_grant and never refreshes again', async () => {
    const h = startAuth()
    await toSignedIn(h)
    h.actor.send({ type: 'REFRESH' })
    await h.clock.settle()
    h.effects.open('refreshTokens').reject({
      code: 'token_refresh_failed',
      message: 'the token endpoint answered invalid_grant (400): refresh token reuse detected',
      status: 400,
      oauthError: 'invalid_grant',
      at: T0 + 1,
    })
    await h.clock.settle()
    expect(h.state()).toBe('signedOut')
    const failure = { code: 'token_refresh_failed', message: 'the token endpoint answered invalid_grant (400): refresh token reuse detected', status: 400, oauthError: 'invalid_grant', at: T0 + 1 }
    expect(h.actor.getSnapshot().context).toMatchObject({ tokens: null, failure })
    expect(h.emitted.filter((e) => e.type === 'sessionEnded')).toEqual([{ type: 'sessionEnded', failure }])
    expect(h.emitted.filter((e) => e.type === 'refreshFailed')).toEqual([{ type: 'refreshFailed', failure, retryAt: null }])
    for (let i = 0; i < 10; i++) h.actor.send({ type: 'REFRESH' })
    await h.clock.advanceBy(10 * HOUR)
    expect(h.effects.count('refreshTokens')).toBe(1)
    expect(h.clock.pendingTimers).toBe(0)
  })

  it('ends the session when the refresh token expires while the server cannot be reached', async () => {
    const h = startAuth()
    await toSignedIn(h, tokenSet(T0, { refreshExpiresAt: T0 + HOUR }))
    await h.clock.advanceTo(h.actor.getSnapshot().context.refreshAt!)
    h.effects.open('refreshTokens').reject(networkFault(T0 + HOUR - 60_000))
    await h.clock.settle()
    expect(h.state()).toEqual({ signedIn: 'backoff' })
    await h.clock.advanceTo(h.actor.getSnapshot().context.retryAt!)
    await h.clock.advanceTo(T0 + HOUR)
    h.effects.open('refreshTokens').reject(networkFault(T0 + HOUR))
    await h.clock.settle()
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context.failure).toEqual({
      code: 'token_refresh_failed',
      message: 'the refresh token expired while the server could not be reached (could not reach the token endpoint: connection refused); a new login is needed',
      at: T0 + HOUR,
    })
  })

  it('retries a failed save of rotated tokens and never publishes them unsaved', async () => {
    const h = startAuth()
    await toSignedIn(h)
    h.actor.send({ type: 'REFRESH' })
    await h.clock.settle()
    h.effects.autoPersist = false
    h.effects.open('refreshTokens').resolve({ tokens: tokenSet(T0 + 1), at: T0 + 1 })
    await h.clock.settle()
    h.effects.open('persist').reject({ code: 'network_error', message: 'EIO: write failed', at: T0 + 1 })
    await h.clock.settle()
    expect(h.state()).toEqual({ signedIn: 'savingBackoff' })
    expect(h.actor.getSnapshot().context).toMatchObject({ tokens: { accessToken: `at-${T0}` }, unsavedTokens: { accessToken: `at-${T0 + 1}` } })
    await h.clock.advanceTo(h.actor.getSnapshot().context.retryAt!)
    h.effects.open('persist').resolve({ at: h.clock.now() })
    await h.clock.settle()
    expect(h.actor.getSnapshot().context.tokens?.accessToken).toBe(`at-${T0 + 1}`)
    expect(h.effects.count('refreshTokens')).toBe(1)
  })

  it('retries a failed first save of tokens before signing in', async () => {
    const h = startAuth()
    h.effects.autoPersist = false
    h.actor.send({ type: 'SET_TOKENS', tokens: tokenSet(T0) })
    await h.clock.settle()
    h.effects.open('persist').reject({ code: 'network_error', message: 'EIO', at: T0 })
    await h.clock.settle()
    expect(h.state()).toEqual({ savingTokens: 'backoff' })
    expect(h.actor.getSnapshot().hasTag('published')).toBe(false)
    await h.clock.advanceTo(h.actor.getSnapshot().context.retryAt!)
    h.effects.open('persist').resolve({ at: h.clock.now() })
    await h.clock.settle()
    expect(h.actor.getSnapshot().hasTag('published')).toBe(true)
  })

  it('without a refresh token, ends the session when the access token expires', async () => {
    const h = startAuth()
    await toSignedIn(h, tokenSet(T0, { refreshToken: null, refreshExpiresAt: null }))
    h.actor.send({ type: 'REFRESH' })
    await h.clock.settle()
    expect(h.effects.count('refreshTokens')).toBe(0)
    expect(h.emitted.at(-1)).toEqual({
      type: 'refreshFailed',
      failure: { code: 'token_refresh_failed', message: 'there is no refresh token to refresh with', at: T0 },
      retryAt: null,
    })
    await h.clock.advanceTo(T0 + HOUR)
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context.failure?.message).toBe('the access token expired and there is no refresh token; a new login is needed')
  })

  it('with no known expiry, refreshes only when asked', async () => {
    const h = startAuth()
    await toSignedIn(h, tokenSet(T0, { accessExpiresAt: null }))
    expect(h.state()).toEqual({ signedIn: { active: 'unscheduled' } })
    await h.clock.advanceBy(100 * HOUR)
    expect(h.effects.count('refreshTokens')).toBe(0)
    h.actor.send({ type: 'REFRESH' })
    await h.clock.settle()
    expect(h.effects.count('refreshTokens')).toBe(1)
  })
})

describe('auth machine: revoking', () => {
  it('revokes the refresh token first, then the access token, and signs out', async () => {
    const h = startAuth()
    await toSignedIn(h)
    h.actor.send({ type: 'REVOKE', at: T0 })
    await h.clock.settle()
    expect(h.state()).toBe('revoking')
    expect(h.effects.open('revokeTokens').input).toEqual({
      tokens: [
        { token: `rt-${T0}`, hint: 'refresh_token' },
        { token: `at-${T0}`, hint: 'access_token' },
      ],
    })
    h.effects.open('revokeTokens').resolve({ at: T0 + 3 })
    await h.clock.settle()
    expect(h.state()).toBe('signedOut')
    expect(h.actor.getSnapshot().context).toMatchObject({ tokens: null, failure: null })
    expect(h.emitted.at(-1)).toEqual({ type: 'revoked', at: T0 + 3, confirmed: true })
  })

  it('revokes both the saved and the unsaved set when asked mid-rotation', async () => {
    const h = startAuth()
    await toSignedIn(h)
    h.actor.send({ type: 'REFRESH' })
    await h.clock.settle()
    h.effects.autoPersist = false
    h.effects.open('refreshTokens').resolve({ tokens: tokenSet(T0 + 1), at: T0 + 1 })
    await h.clock.settle()
    h.actor.send({ type: 'REVOKE', at: T0 + 2 })
    await h.clock.settle()
    expect(h.effects.open('revokeTokens').input.tokens.map((t: { token: string }) => t.token)).toEqual([`rt-${T0 + 1}`, `rt-${T0}`, `at-${T0 + 1}`, `at-${T0}`])
  })

  it('signs out even when the server cannot be reached, after at most revokeTimeoutMs', async () => {
    const h = startAuth()
    await toSignedIn(h)
    h.actor.send({ type: 'REVOKE', at: T0 })
    await h.clock.settle()
    const call = h.effects.open('revokeTokens')
    await h.clock.advanceTo(T0 + 5000)
    expect(call.signal.aborted).toBe(true)
    expect(h.state()).toBe('signedOut')
    expect(h.emitted.at(-1)).toEqual({ type: 'revoked', at: T0 + 5000, confirmed: false })

    const g = startAuth()
    await toSignedIn(g)
    g.actor.send({ type: 'REVOKE', at: T0 })
    await g.clock.settle()
    g.effects.open('revokeTokens').reject(networkFault(T0))
    await g.clock.settle()
    expect(g.state()).toBe('signedOut')
    expect(g.emitted.at(-1)).toMatchObject({ type: 'revoked', confirmed: false })
  })

  it('REVOKE during a pending approval just ends it: there is nothing to revoke', async () => {
    const h = startAuth()
    await toPendingApproval(h)
    h.actor.send({ type: 'REVOKE', at: T0 })
    await h.clock.settle()
    expect(h.state()).toBe('signedOut')
    expect(h.effects.count('revokeTokens')).toBe(0)
    expect(h.clock.pendingTimers).toBe(0)
  })

  it('REVOKE while signed out does nothing', async () => {
    const h = startAuth()
    h.actor.send({ type: 'REVOKE', at: T0 })
    await h.clock.settle()
    expect(h.state()).toBe('signedOut')
    expect(h.emitted).toEqual([])
  })
})
