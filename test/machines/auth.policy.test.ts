import { describe, expect, it } from 'vitest'
import {
  backoffDelayMs,
  DEFAULT_AUTH_SETTINGS,
  failureOf,
  isExpiring,
  isTransient,
  mergeRotated,
  nextJitter,
  pollIntervalMs,
  refreshAtOf,
} from '../../machines/auth.policy.js'
import { CountersignError, ErrorCodes, TokenRefreshError } from '../../src/errors.js'
import { T0, tokenSet } from './auth.harness.js'

describe('auth policy', () => {
  it('draws the same jitter from the same seed, spread over [0, 1)', () => {
    const draw = (seed: number, n: number) => {
      const values: number[] = []
      for (let i = 0; i < n; i++) {
        const next = nextJitter(seed)
        seed = next.seed
        values.push(next.value)
      }
      return values
    }
    expect(draw(7, 5)).toEqual(draw(7, 5))
    expect(draw(7, 5)).not.toEqual(draw(8, 5))
    const many = draw(1, 1000)
    expect(Math.min(...many)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...many)).toBeLessThan(1)
    expect(many.filter((v) => v < 0.5).length).toBeGreaterThan(400)
  })

  it('backs off exponentially from 1 s with equal jitter, capped at 30 s', () => {
    expect(backoffDelayMs(1, DEFAULT_AUTH_SETTINGS, 0)).toBe(500)
    expect(backoffDelayMs(1, DEFAULT_AUTH_SETTINGS, 0.999_999)).toBe(1000)
    expect(backoffDelayMs(3, DEFAULT_AUTH_SETTINGS, 0)).toBe(2000)
    expect(backoffDelayMs(6, DEFAULT_AUTH_SETTINGS, 1)).toBe(30_000)
    expect(backoffDelayMs(1000, DEFAULT_AUTH_SETTINGS, 0.5)).toBe(22_500)
  })

  it('polls at the caller interval or the default, never below the server interval, plus slow_down steps', () => {
    const base = { settings: DEFAULT_AUTH_SETTINGS, callerIntervalMs: null, approval: null, intervalPenaltyMs: 0 }
    expect(pollIntervalMs(base)).toBe(3000)
    expect(pollIntervalMs({ ...base, callerIntervalMs: 500 })).toBe(500)
    const approval = { deviceCode: 'd', userCode: 'u', verificationUri: 'http://x', verificationUriComplete: null, expiresAt: 0, intervalMs: 5000, agentId: null }
    expect(pollIntervalMs({ ...base, callerIntervalMs: 500, approval })).toBe(5000)
    expect(pollIntervalMs({ ...base, approval, intervalPenaltyMs: 10_000 })).toBe(15_000)
  })

  it('refreshes skew before expiry, at half-life for short tokens, never for tokens without an expiry', () => {
    expect(refreshAtOf(tokenSet(T0), 60_000)).toBe(T0 + 3_540_000)
    expect(refreshAtOf(tokenSet(T0, { accessExpiresAt: T0 + 30_000 }), 60_000)).toBe(T0 + 15_000)
    expect(refreshAtOf(tokenSet(T0, { accessExpiresAt: T0 - 5 }), 60_000)).toBe(T0)
    expect(refreshAtOf(tokenSet(T0, { accessExpiresAt: null }), 60_000)).toBeNull()
    expect(isExpiring(tokenSet(T0), 60_000, T0 + 3_539_999)).toBe(false)
    expect(isExpiring(tokenSet(T0), 60_000, T0 + 3_540_000)).toBe(true)
  })

  it('keeps the old refresh token only when the new set has none', () => {
    const old = tokenSet(T0)
    expect(mergeRotated(old, tokenSet(T0 + 1))).toEqual(tokenSet(T0 + 1))
    expect(mergeRotated(old, tokenSet(T0 + 1, { refreshToken: null, refreshExpiresAt: null, agentId: null }))).toEqual({
      ...tokenSet(T0 + 1),
      refreshToken: old.refreshToken,
      refreshExpiresAt: old.refreshExpiresAt,
    })
  })

  it('reads CountersignErrors into plain failures, and anything else as a transient fault', () => {
    const refused = new TokenRefreshError('the token endpoint answered invalid_grant (400)', { status: 400, oauthError: 'invalid_grant' })
    expect(failureOf(refused, T0)).toEqual({ code: 'token_refresh_failed', message: 'the token endpoint answered invalid_grant (400)', at: T0, status: 400, oauthError: 'invalid_grant' })
    expect(failureOf(Object.assign(new CountersignError(ErrorCodes.INVALID_RESPONSE, 'bad'), { at: T0 + 9 }), T0)).toEqual({ code: 'invalid_response', message: 'bad', at: T0 + 9 })
    expect(failureOf('boom', null)).toEqual({ code: 'network_error', message: 'an effect failed without a message', at: null })
    expect(isTransient(failureOf(new TypeError('fetch failed'), T0))).toBe(true)
    expect(isTransient(failureOf(refused, T0))).toBe(false)
  })
})
