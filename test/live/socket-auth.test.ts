/**
 * The live clients with a real AuthManager against the real reference
 * server: rotation under a short access-token lifetime, a server restart,
 * revocation by the owner, and refusals that call for one refresh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuthManager } from '../../src/index.js'
import { CountersignError, ErrorCodes, TokenRefreshError } from '../../src/errors.js'
import { createHttpClient } from '../../src/http/client.js'
import { encodeEcho } from '../../src/live/messages.js'
import { LiveSocket } from '../../src/live/socket.js'
import { eventually, record, revokeAccessToken, signedInManager, startLiveServer, type LiveServer } from './support.js'

/** Access-token lifetime of the rotation test's server, s. */
const ACCESS_TTL_S = 4
/**
 * The longest time between two rotations the refresh schedule allows: the
 * manager refreshes at half a token's life, and a token lives at most TTL + 1 s
 * (its iat is rounded down to the second, its exp up).
 */
const LONGEST_ROTATION_MS = ((ACCESS_TTL_S + 1) * 1000) / 2

describe(`LiveSocket with an AuthManager whose access tokens live ${ACCESS_TTL_S} s`, () => {
  let server: LiveServer
  let auth: AuthManager
  beforeAll(async () => {
    server = await startLiveServer({ accessTtl: ACCESS_TTL_S })
    auth = await signedInManager(server)
  })
  afterAll(async () => {
    auth.dispose()
    await server.dispose()
  })

  it('streams echoes for 30 s through the rotations the refresh schedule implies: none lost or doubled, one connection, no 4401', async () => {
    const rotations: string[] = []
    const subscription = auth.token$.subscribe((token) => token && rotations.push(token.accessToken))
    const upgrades = server.upgrades
    const socket = new LiveSocket({ url: server.wsUrl, auth })
    const seen = record(socket)
    const sent: number[] = []
    const started = Date.now()
    const until = started + 30_000
    for (let id = 0; Date.now() < until; id++) {
      sent.push(id)
      await socket.send(encodeEcho(id, { at: Date.now() }))
      // A steady stream, with at most a few echoes unanswered at any time.
      if (id % 5 === 4) await eventually(() => seen.echoes.length >= id - 4, `echo ${id - 4}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await eventually(() => seen.echoes.length >= sent.length, 'the last echoes')
    subscription.unsubscribe()
    // At least 80 % of the rotations the schedule implies for the time it ran (12 for 30 s): refreshes that
    // stopped or fell far behind fail this, and each one must have been taken up in band.
    const minimum = Math.ceil(0.8 * Math.floor((Date.now() - started) / LONGEST_ROTATION_MS))
    expect(minimum).toBeGreaterThanOrEqual(10)
    const tokens = new Set(rotations).size
    expect(tokens - 1).toBeGreaterThanOrEqual(minimum)
    expect(seen.of('reauthenticated').length).toBeGreaterThanOrEqual(minimum)
    // No re-authentication for nothing: at most one per new token.
    expect(seen.of('reauthenticated').length).toBeLessThanOrEqual(tokens - 1)
    expect(seen.echoes).toEqual(sent)
    expect(seen.of('open')).toHaveLength(1)
    expect(seen.of('disconnected')).toEqual([])
    expect(server.upgrades - upgrades).toBe(1)
    await socket.close()
  }, 60_000)
})

describe('LiveSocket and HTTP client with an AuthManager', () => {
  let server: LiveServer
  beforeAll(async () => {
    server = await startLiveServer()
  })
  afterAll(async () => {
    await server.dispose()
  })

  it('reconnects by itself after a server restart, and sends what was queued meanwhile in order', async () => {
    const auth = await signedInManager(server)
    const socket = new LiveSocket({ url: server.wsUrl, auth }, { settings: { backoffBaseMs: 50, backoffMaxMs: 400 } })
    const seen = record(socket)
    try {
      await socket.send(encodeEcho('before'))
      await eventually(() => seen.echoes.length === 1, 'the first echo')
      await server.test.stop()
      await eventually(() => seen.of('disconnected').length >= 1, 'the drop')
      expect(seen.of('disconnected')[0]!.failure).toMatchObject({ kind: 'dropped', closeCode: 1001 })
      const queued = Array.from({ length: 20 }, (_, i) => `queued-${i}`)
      const sends = queued.map((id) => socket.send(encodeEcho(id)))
      expect(socket.pending).toBe(20)
      await server.restart()
      await Promise.all(sends)
      await eventually(() => seen.echoes.length === 21, 'the queued echoes')
      expect(seen.echoes).toEqual(['before', ...queued])
      expect(seen.of('open')).toHaveLength(2)
      expect(socket.state).toBe('open')
    } finally {
      await socket.close()
      auth.dispose()
    }
  })

  it('keeps sending through a server stop and start: each message is echoed once, or its send rejected clearly, or it was written to the connection that died', async () => {
    const auth = await signedInManager(server)
    // A small queue, so that the sends made while the server is down overflow it.
    const socket = new LiveSocket({ url: server.wsUrl, auth }, { queueSize: 25, settings: { backoffBaseMs: 50, backoffMaxMs: 200 } })
    const seen = record(socket)
    const resolved = new Map<number, { dropsSeen: number }>()
    const rejected = new Map<number, unknown>()
    let sending = true
    let next = 0
    const sender = (async () => {
      while (sending) {
        const id = next++
        socket.send(encodeEcho(id)).then(
          () => resolved.set(id, { dropsSeen: seen.of('disconnected').length }),
          (error: unknown) => rejected.set(id, error),
        )
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })()
    try {
      await eventually(() => seen.echoes.length >= 20, 'the stream')
      await server.test.stop()
      await eventually(() => seen.of('disconnected').length === 1, 'the drop')
      await new Promise((resolve) => setTimeout(resolve, 300))
      await server.restart()
      await eventually(() => seen.of('open').length === 2, 'the new connection')
      const resumedAt = next
      await eventually(() => seen.echoes.includes(resumedAt + 20), 'the stream after the restart')
      sending = false
      await sender
      await eventually(() => resolved.size + rejected.size === next, 'every send to settle')
      await eventually(() => [...resolved].every(([id, at]) => at.dropsSeen === 0 || seen.echoes.includes(id)), 'the echoes of what the new connection took')

      const echoed = seen.echoes as number[]
      // Never twice, and in send order.
      expect(new Set(echoed).size).toBe(echoed.length)
      expect(echoed).toEqual([...echoed].sort((a, b) => a - b))
      // Rejected: the queue was full while no connection could take them; never sent, never echoed.
      expect(rejected.size).toBeGreaterThan(0)
      for (const [id, error] of rejected) {
        expect(error).toBeInstanceOf(CountersignError)
        expect(error).toMatchObject({ code: ErrorCodes.QUEUE_FULL, message: 'the send queue is full (25 messages not yet written); wait for earlier sends or raise options.queueSize' })
        expect(echoed).not.toContain(id)
      }
      // The rest resolved. Those not echoed (in practice the one written as the server began to stop) were written
      // to the first connection before its drop was seen: resolved means handed to the connection, not received,
      // as the protocol has no acknowledgements. None of them went out after the drop.
      const lost = [...resolved.keys()].filter((id) => !echoed.includes(id)).sort((a, b) => a - b)
      for (const id of lost) expect(resolved.get(id)!.dropsSeen).toBe(0)
      const firstAfter = echoed.find((id) => resolved.get(id)!.dropsSeen > 0)
      expect(firstAfter).toBeDefined()
      for (const id of lost) expect(id).toBeLessThan(firstAfter!)
      expect(lost.length + echoed.length + rejected.size).toBe(next)
      expect(seen.of('open')).toHaveLength(2)
    } finally {
      sending = false
      await sender
      await socket.close()
      auth.dispose()
    }
  })

  it('when the owner revokes the agent, the socket closes with a revoked event and stays closed; the HTTP client gets a clear error', async () => {
    const auth = await signedInManager(server)
    const http = createHttpClient({ baseUrl: server.url, auth })
    const socket = new LiveSocket({ url: server.wsUrl, auth }, { settings: { backoffBaseMs: 20, backoffMaxMs: 100 } })
    const seen = record(socket)
    try {
      const me = (await (await http.fetch('/api/agent/me')).json()) as { agent_id: string }
      expect(me.agent_id).toBe(auth.agentId)
      await eventually(() => socket.state === 'open', 'the connection')
      const upgrades = server.upgrades
      await server.owner.revokeAgent(me.agent_id)
      const outcome = await socket.closed
      expect(outcome).toMatchObject({ reason: 'revoked', failure: { kind: 'revoked', closeCode: 4403 } })
      expect(seen.of('revoked')).toHaveLength(1)
      const error = await http.fetch('/api/agent/me').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TokenRefreshError)
      expect(error).toMatchObject({
        code: ErrorCodes.TOKEN_REFRESH_FAILED,
        status: 400,
        oauthError: 'invalid_grant',
        message: 'the token endpoint answered invalid_grant (400): the refresh token is unknown, expired or revoked; a new login is needed',
      })
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(server.upgrades).toBe(upgrades)
      expect(seen.states.at(-1)).toBe('closed')
    } finally {
      auth.dispose()
    }
  })

  it('200 concurrent HTTP requests that all meet a 401 cause exactly one refresh at the server, and all succeed', async () => {
    const auth = await signedInManager(server)
    const http = createHttpClient({ baseUrl: server.url, auth })
    try {
      await revokeAccessToken(server, await auth.tokenProvider())
      const before = server.tokenRequests
      const responses = await Promise.all(Array.from({ length: 200 }, () => http.fetch('/api/agent/me')))
      expect(responses.map((r) => r.status)).toEqual(Array(200).fill(200))
      await Promise.all(responses.map((r) => r.json()))
      expect(server.tokenRequests - before).toBe(1)
    } finally {
      auth.dispose()
    }
  })

  it('an upgrade refused with 401 leads to one refresh at the server, then the connection', async () => {
    const auth = await signedInManager(server)
    try {
      await revokeAccessToken(server, await auth.tokenProvider())
      const before = { tokens: server.tokenRequests, upgrades: server.upgrades }
      const socket = new LiveSocket({ url: server.wsUrl, auth })
      const seen = record(socket)
      await socket.send(encodeEcho('after-refresh'))
      await eventually(() => seen.echoes.length === 1, 'the echo')
      expect(server.tokenRequests - before.tokens).toBe(1)
      expect(server.upgrades - before.upgrades).toBe(2)
      expect(seen.of('disconnected').map((e) => e.failure.status)).toEqual([401])
      await socket.close()
    } finally {
      auth.dispose()
    }
  })

  it('a socket whose manager has no session closes as "unauthenticated" and rejects its sends', async () => {
    const auth = await signedInManager(server)
    await auth.revoke()
    const socket = new LiveSocket({ url: server.wsUrl, auth })
    const send = socket.send('never').catch((e: unknown) => e)
    expect(await socket.closed).toMatchObject({ reason: 'unauthenticated', failure: { kind: 'unauthenticated', code: ErrorCodes.NOT_AUTHENTICATED } })
    const error = await send
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({ code: ErrorCodes.SOCKET_CLOSED, message: 'the message was not sent: the socket closed because the token source has no session any more' })
    auth.dispose()
  })
})
