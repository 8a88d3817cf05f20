import { describe, expect, it } from 'vitest'
import { CountersignError, ErrorCodes } from '../src/errors.js'
import {
  TokenGate,
  authenticatorFor,
  cachingAuthenticator,
  getAuthHeaderOf,
  getAuthTokenOf,
  resolveTokenSource,
  tokenGateOf,
  tokenSourceOf,
  tokenSourceOfAuthenticator,
  type AuthToken,
} from '../src/token-source.js'
import { SimulatedClock } from './support/simulated-clock.js'

/** A user-written authenticator: each call answers the next token; calls can be held open and failed. */
class BackendAuthenticator {
  calls = 0
  expiresIn = 3600
  failNext: Error | null = null
  hold: Promise<void> | null = null

  async getAuthToken(): Promise<AuthToken> {
    const n = ++this.calls
    if (this.hold) await this.hold
    if (this.failNext) {
      const error = this.failNext
      this.failNext = null
      throw error
    }
    return { token: `token-${n}`, expiresIn: this.expiresIn }
  }
}

function deferred() {
  let release!: () => void
  const promise = new Promise<void>((resolve) => (release = resolve))
  return { promise, release }
}

/** A JWT-shaped token with the given `exp` (unsigned: only its claims are read). */
const jwtWithExp = (exp: number) => `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`

describe('cachingAuthenticator', () => {
  it('keeps the token until expiresIn minus 60 s and answers expiresIn as the time left', async () => {
    const clock = new SimulatedClock()
    const backend = new BackendAuthenticator()
    const auth = cachingAuthenticator(backend, { clock })
    expect(await auth.getAuthToken()).toEqual({ token: 'token-1', expiresIn: 3600 })
    await clock.advanceBy(1000 * (3600 - 60) - 1)
    expect(await auth.getAuthToken()).toEqual({ token: 'token-1', expiresIn: 60 })
    expect(backend.calls).toBe(1)
    await clock.advanceBy(1)
    expect(await auth.getAuthToken()).toEqual({ token: 'token-2', expiresIn: 3600 })
    expect(backend.calls).toBe(2)
    expect(await auth.getAuthHeader()).toBe('Bearer token-2')
    expect(backend.calls).toBe(2)
  })

  it('does not keep a token that has less than 60 s to live', async () => {
    const clock = new SimulatedClock()
    const backend = new BackendAuthenticator()
    backend.expiresIn = 60
    const auth = cachingAuthenticator(backend, { clock })
    await auth.getAuthToken()
    await auth.getAuthToken()
    expect(backend.calls).toBe(2)
  })

  it('shares one backend call among callers at the same moment', async () => {
    const backend = new BackendAuthenticator()
    const gate = deferred()
    backend.hold = gate.promise
    const auth = cachingAuthenticator(backend, { clock: new SimulatedClock() })
    const answers = Promise.all(Array.from({ length: 50 }, () => auth.getAuthToken()))
    gate.release()
    const tokens = (await answers).map((a) => a.token)
    expect(new Set(tokens)).toEqual(new Set(['token-1']))
    expect(backend.calls).toBe(1)
  })

  it('does not keep a failure: every waiting caller sees it, the next call asks the backend again', async () => {
    const backend = new BackendAuthenticator()
    const gate = deferred()
    backend.hold = gate.promise
    backend.failNext = new Error('backend down')
    const auth = cachingAuthenticator(backend, { clock: new SimulatedClock() })
    const first = auth.getAuthToken()
    const second = auth.getAuthToken()
    gate.release()
    await expect(first).rejects.toThrow('backend down')
    await expect(second).rejects.toThrow('backend down')
    expect(backend.calls).toBe(1)
    expect(await auth.getAuthToken()).toEqual({ token: 'token-2', expiresIn: 3600 })
  })

  it('fetches anew after invalidate(), and a fetch started before it does not refill the cache', async () => {
    const backend = new BackendAuthenticator()
    const gate = deferred()
    backend.hold = gate.promise
    const auth = cachingAuthenticator(backend, { clock: new SimulatedClock() })
    const before = auth.getAuthToken()
    auth.invalidate()
    gate.release()
    expect((await before).token).toBe('token-1')
    expect((await auth.getAuthToken()).token).toBe('token-2')
    expect((await auth.getAuthToken()).token).toBe('token-2')
  })

  it('as a token source, refreshes for "unauthorized" and reuses the cache otherwise', async () => {
    const backend = new BackendAuthenticator()
    const auth = cachingAuthenticator(backend, { clock: new SimulatedClock() })
    expect(await auth.tokenSource()).toBe('token-1')
    expect(await auth.tokenSource('initial')).toBe('token-1')
    expect(await auth.tokenSource('unauthorized')).toBe('token-2')
    expect(backend.calls).toBe(2)
  })

  it('rejects what a backend answers that is not { token, expiresIn }, without echoing it', async () => {
    const bad = [null, { token: '', expiresIn: 1 }, { token: 'secret-token', expiresIn: -1 }, { token: 'secret-token', expiresIn: '3600' }]
    for (const answer of bad) {
      const auth = cachingAuthenticator({ getAuthToken: async () => answer as never })
      const error = await auth.getAuthToken().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CountersignError)
      expect((error as CountersignError).code).toBe(ErrorCodes.INVALID_RESPONSE)
      expect((error as Error).message).toMatch(/getAuthToken\(\) resolved|token source gave/)
      expect((error as Error).message).not.toContain('secret-token')
    }
  })

  it('names the argument a caller got wrong', () => {
    expect(() => cachingAuthenticator({} as never)).toThrow(new TypeError('custom must be an authenticator with a getAuthToken() method'))
    expect(() => cachingAuthenticator(new BackendAuthenticator(), { earlyMs: -1 })).toThrow(new TypeError('options.earlyMs must be a number of milliseconds ≥ 0'))
    expect(() => cachingAuthenticator(new BackendAuthenticator(), { clock: {} as never })).toThrow(new TypeError('options.clock must have now()'))
  })
})

describe('token sources', () => {
  it('of an AuthManager: the tokenProvider, with forceRefresh() first for "unauthorized"; one function per manager', async () => {
    let current = 'access-1'
    const calls: string[] = []
    const auth = {
      tokenProvider: async () => (calls.push('tokenProvider'), current),
      forceRefresh: async () => {
        calls.push('forceRefresh')
        current = 'access-2'
      },
    }
    const source = tokenSourceOf(auth)
    expect(tokenSourceOf(auth)).toBe(source)
    expect(await source()).toBe('access-1')
    expect(await source('unauthorized')).toBe('access-2')
    expect(calls).toEqual(['tokenProvider', 'forceRefresh', 'tokenProvider'])
  })

  it('of an authenticator: its token, invalidated first for "unauthorized" when it caches', async () => {
    const backend = new BackendAuthenticator()
    expect(await tokenSourceOfAuthenticator(backend)()).toBe('token-1')
    const caching = cachingAuthenticator(backend, { clock: new SimulatedClock() })
    const source = tokenSourceOfAuthenticator(caching)
    expect(await source()).toBe('token-2')
    expect(await source()).toBe('token-2')
    expect(await source('unauthorized')).toBe('token-3')
  })

  it('client options name either tokenProvider or auth', () => {
    const tokenProvider = async () => 't'
    expect(resolveTokenSource({ tokenProvider })).toBe(tokenProvider)
    expect(() => resolveTokenSource({})).toThrow(new TypeError('options.tokenProvider must be a function returning a Promise of the access token (or pass options.auth)'))
    expect(() => resolveTokenSource({ tokenProvider, auth: {} })).toThrow(new TypeError('options must name either tokenProvider or auth, not both'))
    expect(() => resolveTokenSource({ auth: { tokenProvider } })).toThrow(new TypeError('auth must be an AuthManager (with tokenProvider and forceRefresh())'))
  })

  it('an AuthManager as an authenticator: expiresIn from the token\'s exp, 0 for an opaque token', async () => {
    const clock = new SimulatedClock(Date.UTC(2026, 0, 1))
    const exp = Date.UTC(2026, 0, 1) / 1000 + 900
    const jwt = jwtWithExp(exp)
    expect(await getAuthTokenOf({ tokenProvider: async () => jwt }, clock)).toEqual({ token: jwt, expiresIn: 900 })
    expect(await getAuthTokenOf({ tokenProvider: async () => 'opaque' }, clock)).toEqual({ token: 'opaque', expiresIn: 0 })
    expect(await getAuthHeaderOf({ tokenProvider: async () => jwt })).toBe(`Bearer ${jwt}`)
    const authenticator = authenticatorFor({ tokenProvider: async () => jwt }, { clock })
    await clock.advanceBy(100_000)
    expect(await authenticator.getAuthToken()).toEqual({ token: jwt, expiresIn: 800 })
    expect(await authenticator.getAuthHeader()).toBe(`Bearer ${jwt}`)
  })

  it('a failure of a token source passes through as it is', async () => {
    const failure = new Error('vault unreachable')
    const gate = new TokenGate(async () => {
      throw failure
    })
    await expect(gate.current()).rejects.toBe(failure)
  })

  it('a token source that gives something other than a token is an invalid_response', async () => {
    const gate = new TokenGate((async () => undefined) as never)
    await expect(gate.current()).rejects.toMatchObject({ code: ErrorCodes.INVALID_RESPONSE, message: 'the token source gave undefined instead of an access token' })
  })
})

describe('TokenGate: one refresh per refused token', () => {
  function countingSource() {
    const state = { token: 'access-1', refreshes: 0, hold: null as Promise<void> | null }
    const source = async (reason?: string) => {
      if (reason === 'unauthorized') {
        state.refreshes++
        if (state.hold) await state.hold
        state.token = `access-${state.refreshes + 1}`
      }
      return state.token
    }
    return { state, source }
  }

  it('callers refused at the same moment share one refresh', async () => {
    const { state, source } = countingSource()
    const gate = new TokenGate(source)
    const takenAt = gate.generation
    const refused = await gate.current()
    const hold = deferred()
    state.hold = hold.promise
    const all = Promise.all(Array.from({ length: 200 }, () => gate.afterRefusal(refused, takenAt)))
    await new Promise((resolve) => setImmediate(resolve))
    hold.release()
    expect(new Set(await all)).toEqual(new Set(['access-2']))
    expect(state.refreshes).toBe(1)
  })

  it('a refusal of a token taken before a finished refresh uses the new token instead of refreshing again', async () => {
    const { state, source } = countingSource()
    const gate = new TokenGate(source)
    const takenAt = gate.generation
    const refused = await gate.current()
    expect(await gate.afterRefusal(refused, takenAt)).toBe('access-2')
    expect(await gate.afterRefusal(refused, takenAt)).toBe('access-2')
    expect(state.refreshes).toBe(1)
    // The new token refused in its turn: a second refresh.
    expect(await gate.afterRefusal('access-2', gate.generation)).toBe('access-3')
    expect(state.refreshes).toBe(2)
  })

  it('does not force a refresh when the source already rotated on its own', async () => {
    const { state, source } = countingSource()
    const gate = new TokenGate(source)
    state.token = 'rotated-by-the-runtime'
    expect(await gate.afterRefusal('access-1', gate.generation)).toBe('rotated-by-the-runtime')
    expect(state.refreshes).toBe(0)
  })

  it("after a refusal for expiry asks with 'expired' first: a source that has a newer token gives it, no refresh forced", async () => {
    const reasons: string[] = []
    let token = 'access-1'
    const gate = new TokenGate(async (reason) => {
      reasons.push(reason ?? 'none')
      // A source that knows its token expired replaces it itself when told so.
      if (reason === 'expired' && token === 'access-1') token = 'access-2'
      if (reason === 'unauthorized') token = 'forced'
      return token
    })
    expect(await gate.afterRefusal('access-1', gate.generation, 'expired')).toBe('access-2')
    expect(reasons).toEqual(['expired'])
  })

  it("after a refusal for expiry forces one refresh when the source answers 'expired' with the refused token", async () => {
    const { state, source } = countingSource()
    const reasons: string[] = []
    const gate = new TokenGate(async (reason) => (reasons.push(reason ?? 'none'), source(reason)))
    const takenAt = gate.generation
    const refused = await gate.current()
    const all = await Promise.all(Array.from({ length: 20 }, () => gate.afterRefusal(refused, takenAt, 'expired')))
    expect(new Set(all)).toEqual(new Set(['access-2']))
    expect(reasons).toEqual(['initial', 'expired', 'unauthorized'])
    expect(state.refreshes).toBe(1)
  })

  it("after any other refusal asks with 'initial', then 'unauthorized' (the default reason)", async () => {
    const { source } = countingSource()
    const reasons: string[] = []
    const gate = new TokenGate(async (reason) => (reasons.push(reason ?? 'none'), source(reason)))
    expect(await gate.afterRefusal('access-1', 0)).toBe('access-2')
    expect(await gate.afterRefusal('access-2', gate.generation, 'unauthorized')).toBe('access-3')
    expect(reasons).toEqual(['initial', 'unauthorized', 'initial', 'unauthorized'])
  })

  it('a failed refresh is not counted: the next refusal refreshes again', async () => {
    let fail = true
    let refreshes = 0
    const gate = new TokenGate(async (reason) => {
      if (reason !== 'unauthorized') return 'access-1'
      refreshes++
      if (fail) throw new CountersignError(ErrorCodes.NETWORK_ERROR, 'the refresh never got an answer')
      return 'access-2'
    })
    await expect(gate.afterRefusal('access-1', 0)).rejects.toMatchObject({ code: ErrorCodes.NETWORK_ERROR })
    fail = false
    expect(await gate.afterRefusal('access-1', 0)).toBe('access-2')
    expect(refreshes).toBe(2)
  })

  it('is shared by every client of one source', () => {
    const source = async () => 't'
    expect(tokenGateOf(source)).toBe(tokenGateOf(source))
    expect(tokenGateOf(async () => 't')).not.toBe(tokenGateOf(source))
  })
})
