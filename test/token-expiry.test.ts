import { describe, expect, it } from 'vitest'
import { refusalReason, tokenExpiresAt } from '../src/token-expiry.js'

const NOW = Date.UTC(2026, 0, 1)
/** A JWT-shaped token with the given `exp` (unsigned: only its claims are read). */
const jwtWithExp = (exp: unknown) => `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`

describe('tokenExpiresAt', () => {
  it("reads a JWT's exp as epoch ms, and null for a token that names none", () => {
    expect(tokenExpiresAt(jwtWithExp(NOW / 1000 + 5))).toBe(NOW + 5000)
    expect(tokenExpiresAt(jwtWithExp('soon'))).toBeNull()
    expect(tokenExpiresAt('opaque-token')).toBeNull()
    expect(tokenExpiresAt('a.%%%.c')).toBeNull()
    expect(tokenExpiresAt('a..c')).toBeNull()
  })
})

describe('refusalReason: what a client tells its token source after a refusal', () => {
  const live = jwtWithExp(NOW / 1000 + 60)
  const past = jwtWithExp(NOW / 1000 - 1)

  it("is 'expired' when the server's words say the token expired", () => {
    for (const words of [
      'the access token expired; send {"type":"auth"} with a new token before it does',
      'The access token expired',
      'the access token has expired',
      'Token Expired',
    ]) {
      expect(refusalReason(live, words, NOW)).toBe('expired')
      expect(refusalReason('opaque', words, NOW)).toBe('expired')
    }
  })

  it("is 'expired' when the token's own exp has passed, whatever the words", () => {
    expect(refusalReason(past, 'the access token is invalid or expired', NOW)).toBe('expired')
    expect(refusalReason(past, undefined, NOW)).toBe('expired')
    expect(refusalReason(jwtWithExp(NOW / 1000), null, NOW)).toBe('expired')
  })

  it("is 'unauthorized' otherwise: expiry named only as one possibility, other words, no words, an opaque token", () => {
    expect(refusalReason(live, 'the access token is invalid or expired', NOW)).toBe('unauthorized')
    expect(refusalReason(live, 'the refresh token is unknown, expired or revoked', NOW)).toBe('unauthorized')
    expect(refusalReason(live, 'the access token was revoked', NOW)).toBe('unauthorized')
    expect(refusalReason(live, 'unexpired tokens only', NOW)).toBe('unauthorized')
    expect(refusalReason(live, undefined, NOW)).toBe('unauthorized')
    expect(refusalReason('opaque', '', NOW)).toBe('unauthorized')
    expect(refusalReason(null, null, NOW)).toBe('unauthorized')
  })
})
