/**
 * The LiveSocket statechart after a refusal due to the token's expiry: the
 * runtime marks such a 401 or 4401 `expired`, and the next token is asked
 * for with 'expired' instead of 'unauthorized' (which forces a refresh).
 */
import { describe, expect, it } from 'vitest'
import { closeFailureOf, connectionFailureOf, tokenReasonAfter } from '../../machines/socket.js'
import { acceptConnection, failConnection, giveToken, startSocket, T0, toOpen } from './socket.harness.js'

describe('LiveSocket statechart: refusals due to expiry', () => {
  it("an upgrade refused with 401 marked expired asks for the token with 'expired' and reconnects at once", async () => {
    const h = startSocket()
    await h.clock.settle()
    await giveToken(h, 'tok-old')
    await failConnection(h, { message: 'the server refused the WebSocket upgrade with HTTP 401', status: 401, expired: true })
    expect(h.context().lastFailure).toEqual({ kind: 'unauthorized', message: 'the server refused the WebSocket upgrade with HTTP 401', at: T0, status: 401, expired: true })
    expect(h.status()).toBe('connecting')
    expect(h.effects.open('getToken').input).toEqual({ reason: 'expired' })
    expect(h.context().retryAt).toBeNull()
    await giveToken(h, 'tok-new')
    await acceptConnection(h)
    expect(h.status()).toBe('open')
    expect(h.context().tokenReason).toBe('initial')
    expect(h.effects.log).toEqual(['getToken:initial', 'connect#1', 'getToken:expired', 'connect#2', 'flushQueue#2'])
  })

  it("a 4401 close marked expired asks with 'expired'; one not marked asks with 'unauthorized'", async () => {
    const h = startSocket()
    await toOpen(h)
    h.actor.send({ type: 'SOCKET_CLOSED', connectionId: 1, code: 4401, reason: 'the access token expired', expired: true, at: h.clock.now() })
    await h.clock.settle()
    expect(h.effects.open('getToken').input).toEqual({ reason: 'expired' })
    expect(h.context().lastFailure).toMatchObject({ kind: 'unauthorized', closeCode: 4401, expired: true })
    await giveToken(h, 'tok-2')
    await acceptConnection(h)
    // Healthy for a while, so the next refusal is a first one again.
    await h.clock.advanceBy(h.context().settings.stableAfterMs)
    h.actor.send({ type: 'SOCKET_CLOSED', connectionId: 2, code: 4401, reason: 'the access token was revoked', at: h.clock.now() })
    await h.clock.settle()
    expect(h.effects.open('getToken').input).toEqual({ reason: 'unauthorized' })
    expect(h.context().lastFailure).not.toHaveProperty('expired')
  })

  it('the in-band auth refused with a 4401 marked expired terminates, then asks with expired', async () => {
    const h = startSocket()
    await toOpen(h)
    h.actor.send({ type: 'TOKEN_ROTATED' })
    await h.clock.settle()
    await giveToken(h, 'tok-2')
    h.effects.open('reauthenticate').reject({ closeCode: 4401, expired: true, message: 'the connection closed with code 4401', at: h.clock.now() })
    await h.clock.settle()
    expect(h.emittedOf('terminate')).toEqual([{ type: 'terminate', connectionId: 1, failure: { kind: 'unauthorized', message: 'the connection closed with code 4401', at: T0, closeCode: 4401, expired: true } }])
    expect(h.effects.open('getToken').input).toEqual({ reason: 'expired' })
  })
})

describe('LiveSocket policy: expiry', () => {
  it('marks only refusals expired, and the token reason follows the mark', () => {
    expect(closeFailureOf(4401, 'x', 1, true)).toEqual({ kind: 'unauthorized', message: 'the connection closed with code 4401: x', at: 1, closeCode: 4401, expired: true })
    expect(closeFailureOf(4401, 'x', 1)).toEqual({ kind: 'unauthorized', message: 'the connection closed with code 4401: x', at: 1, closeCode: 4401 })
    expect(closeFailureOf(1011, 'x', 1, true)).toEqual({ kind: 'dropped', message: 'the connection closed with code 1011: x', at: 1, closeCode: 1011 })
    expect(connectionFailureOf({ status: 401, expired: true, message: 'm', at: 2 }, 0)).toEqual({ kind: 'unauthorized', message: 'm', at: 2, status: 401, expired: true })
    expect(connectionFailureOf({ status: 503, expired: true, message: 'm', at: 2 }, 0)).toEqual({ kind: 'dropped', message: 'm', at: 2, status: 503 })
    expect(connectionFailureOf({ status: 401, expired: 'yes', message: 'm', at: 2 }, 0)).not.toHaveProperty('expired')
    expect(tokenReasonAfter({ kind: 'unauthorized', message: 'm', at: 0, expired: true }, 'initial')).toBe('expired')
    expect(tokenReasonAfter({ kind: 'unauthorized', message: 'm', at: 0 }, 'initial')).toBe('unauthorized')
    expect(tokenReasonAfter({ kind: 'dropped', message: 'm', at: 0 }, 'expired')).toBe('expired')
  })
})
