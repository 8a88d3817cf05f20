import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  backoffCeilingMs,
  backoffDelayMs,
  closeCodeKind,
  CloseCodes,
  connectionFailureOf,
  DEFAULT_LIVE_SOCKET_SETTINGS,
  liveSocketSettings,
  nextJitter,
  RECONNECT_CLOSE_CODES,
  tokenFailureOf,
  upgradeStatusKind,
} from '../../machines/socket.js'

describe('LiveSocket policy: what closes and refusals mean', () => {
  it('reads 4401 as "refresh, then reconnect", 4403 as revoked, and every other close code as a drop', () => {
    expect(closeCodeKind(CloseCodes.TOKEN_INVALID)).toBe('unauthorized')
    expect(closeCodeKind(CloseCodes.REVOKED)).toBe('revoked')
    for (const code of [...RECONNECT_CLOSE_CODES, 1000, 1001, 1005, 1008, 4000, 4999]) expect(closeCodeKind(code)).toBe('dropped')
    expect(RECONNECT_CLOSE_CODES).toEqual([1006, 1011, 1012, 1013])
  })

  it('reads a refused upgrade: 401 unauthorized, 5xx/408/429 a drop, other 4xx refused for good', () => {
    expect(upgradeStatusKind(401)).toBe('unauthorized')
    for (const status of [500, 502, 503, 504, 408, 429]) expect(upgradeStatusKind(status)).toBe('dropped')
    for (const status of [400, 403, 404, 410]) expect(upgradeStatusKind(status)).toBe('refused')
    expect(upgradeStatusKind(302)).toBe('dropped')
  })

  it('reads connect failures: a close code wins over a status; neither is a network drop', () => {
    expect(connectionFailureOf({ closeCode: 4403, status: 101, message: 'closed', at: 5 }, 1)).toEqual({ kind: 'revoked', message: 'closed', at: 5, closeCode: 4403 })
    expect(connectionFailureOf({ status: 401, message: 'Unexpected server response: 401' }, 7)).toEqual({
      kind: 'unauthorized',
      message: 'Unexpected server response: 401',
      at: 7,
      status: 401,
    })
    expect(connectionFailureOf(new Error('socket hang up'), null)).toEqual({ kind: 'dropped', message: 'socket hang up', at: null })
    expect(connectionFailureOf('nonsense', 3)).toEqual({ kind: 'dropped', message: 'the connection failed without a message', at: 3 })
    expect(connectionFailureOf({ closeCode: 1006.5, at: Number.NaN }, 3)).toEqual({ kind: 'dropped', message: 'the connection failed without a message', at: 3 })
  })

  it('reads token-source failures: a session that is over ends the socket, revoked is revoked, the rest may pass', () => {
    expect(tokenFailureOf({ code: 'token_refresh_failed', message: 'm', at: 1 }, 0).kind).toBe('unauthenticated')
    expect(tokenFailureOf({ code: 'not_authenticated', message: 'm' }, 0).kind).toBe('unauthenticated')
    expect(tokenFailureOf({ code: 'revoked', message: 'm' }, 0).kind).toBe('revoked')
    expect(tokenFailureOf({ code: 'network_error', message: 'm' }, 0)).toEqual({ kind: 'tokenUnavailable', message: 'm', at: 0, code: 'network_error' })
    expect(tokenFailureOf(new TypeError('boom'), 2)).toEqual({ kind: 'tokenUnavailable', message: 'boom', at: 2 })
  })
})

describe('LiveSocket policy: settings', () => {
  it('fills in the defaults: 1 s base, 30 s cap, ping every 25 s, two missed pongs', () => {
    expect(liveSocketSettings()).toEqual(DEFAULT_LIVE_SOCKET_SETTINGS)
    expect(DEFAULT_LIVE_SOCKET_SETTINGS).toMatchObject({ backoffBaseMs: 1_000, backoffMaxMs: 30_000, pingIntervalMs: 25_000, maxMissedPongs: 2 })
    expect(liveSocketSettings({ backoffBaseMs: 250 })).toEqual({ ...DEFAULT_LIVE_SOCKET_SETTINGS, backoffBaseMs: 250 })
  })

  it.each([
    [{ backoffBaseMs: 0 }, 'settings.backoffBaseMs must be a positive number of milliseconds'],
    [{ pingIntervalMs: Number.NaN }, 'settings.pingIntervalMs must be a positive number of milliseconds'],
    [{ connectTimeoutMs: '5000' }, 'settings.connectTimeoutMs must be a positive number of milliseconds'],
    [{ maxMissedPongs: 1.5 }, 'settings.maxMissedPongs must be a positive integer'],
    [{ backoffBaseMs: 5_000, backoffMaxMs: 1_000 }, 'settings.backoffMaxMs must not be below settings.backoffBaseMs'],
    [null, 'settings must be an object'],
  ])('refuses %j with a TypeError naming the setting', (settings, message) => {
    expect(() => liveSocketSettings(settings as never)).toThrow(new TypeError(message))
  })
})

describe('LiveSocket policy: full-jitter backoff', () => {
  it('doubles the ceiling from the base per attempt and caps it', () => {
    const s = { backoffBaseMs: 1_000, backoffMaxMs: 30_000 }
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffCeilingMs(n, s))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000])
  })

  it('draws every delay in [0, ceiling) for any attempt and jitter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, jitter) => {
        const s = DEFAULT_LIVE_SOCKET_SETTINGS
        const delay = backoffDelayMs(attempt, s, jitter)
        return Number.isInteger(delay) && delay >= 0 && delay < backoffCeilingMs(attempt, s)
      }),
    )
  })

  it('draws jitter in [0, 1) from any seed, the same for the same seed', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const a = nextJitter(seed)
        return a.value >= 0 && a.value < 1 && Number.isInteger(a.seed) && nextJitter(seed).value === a.value
      }),
    )
  })
})
