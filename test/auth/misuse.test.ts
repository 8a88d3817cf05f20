/**
 * Caller mistakes: a TypeError naming the argument, thrown at once, before
 * anything is sent or stored.
 */
import { describe, expect, it } from 'vitest'
import { AuthManager, FileStore, MemoryStore } from '../../src/index.js'

const URL_ = 'http://127.0.0.1:9'

function typeError(run: () => unknown): TypeError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    return error as TypeError
  }
  throw new Error('expected a TypeError, nothing was thrown')
}

describe('AuthManager: misuse', () => {
  it('refuses a base URL that is not an absolute http(s) URL', () => {
    expect(typeError(() => new AuthManager('127.0.0.1:4000')).message).toBe('baseUrl must be an absolute http(s) URL, such as "http://127.0.0.1:4000"')
    expect(typeError(() => new AuthManager('localhost:4000')).message).toBe('baseUrl must be an http(s) URL, not localhost:')
    expect(typeError(() => new AuthManager(42 as never)).message).toMatch(/^baseUrl must be/)
    expect(typeError(() => new AuthManager('ftp://example.test')).message).toBe('baseUrl must be an http(s) URL, not ftp:')
    expect(typeError(() => new AuthManager('http://example.test/?a=1')).message).toBe('baseUrl must have no query or fragment')
    expect(typeError(() => new AuthManager('http://user:pw@example.test')).message).toBe('baseUrl must not carry credentials')
  })

  it('refuses a store that is neither a TokenStore nor a session store, naming what it lacks, and changes through a read-only one', () => {
    expect(typeError(() => new AuthManager(URL_, { getAccessToken() {}, getRefreshToken() {} } as never)).message).toBe(
      'store must be a TokenStore ({ getAccessToken, getRefreshToken, setTokens, clear }) or a session store such as MemoryStore or FileStore; it lacks setTokens, clear',
    )
    expect(typeError(() => new AuthManager(URL_, 'memory' as never)).message).toMatch(/^store must be a TokenStore/)
    const follower = new AuthManager(URL_, new FileStore('/tmp/never-written.json', { readOnly: true }))
    for (const [call, run] of [
      ['register()', () => follower.register({ name: 'A' })],
      ['login()', () => follower.login({ agentId: 'agt_1' })],
      ['setTokens()', () => follower.setTokens('token')],
      ['revoke()', () => follower.revoke()],
    ] as const) {
      expect(typeError(run).message).toBe(`store is read-only: this AuthManager follows the session another process keeps there, so ${call} needs a writable store`)
    }
    follower.dispose()
  })

  it('refuses options it does not know or of the wrong kind', () => {
    expect(typeError(() => new AuthManager(URL_, null, { refreshSkew: 5 } as never)).message).toBe(
      'options.refreshSkew is not an AuthManager option (expected one of clientId, refreshSkewMs, fetch, clock, logger, longPoll, tokenWaitMs, requestTimeoutMs)',
    )
    expect(typeError(() => new AuthManager(URL_, null, { refreshSkewMs: -1 })).message).toBe('options.refreshSkewMs must be a number of milliseconds ≥ 0')
    expect(typeError(() => new AuthManager(URL_, null, { tokenWaitMs: -1 })).message).toBe('options.tokenWaitMs must be a number of milliseconds ≥ 0')
    expect(typeError(() => new AuthManager(URL_, null, { tokenWaitMs: Number.NaN })).message).toBe('options.tokenWaitMs must be a number of milliseconds ≥ 0')
    for (const requestTimeoutMs of [0, -5, 120_001, Number.POSITIVE_INFINITY, '5000']) {
      expect(typeError(() => new AuthManager(URL_, null, { requestTimeoutMs } as never)).message).toBe('options.requestTimeoutMs must be a number of milliseconds > 0 and ≤ 120000')
    }
    expect(typeError(() => new AuthManager(URL_, null, { clientId: '' })).message).toBe('options.clientId must be a non-empty string')
    expect(typeError(() => new AuthManager(URL_, null, { fetch: 'fetch' as never })).message).toBe('options.fetch must be a function')
    expect(typeError(() => new AuthManager(URL_, null, { clock: { now: Date.now } as never })).message).toBe('options.clock must have now(), setTimeout() and clearTimeout()')
    expect(typeError(() => new AuthManager(URL_, null, { logger: { warn: 'loud' } as never })).message).toBe('options.logger.warn must be a function')
    expect(typeError(() => new AuthManager(URL_, null, { longPoll: 'yes' as never })).message).toBe('options.longPoll must be "auto", true or false')
  })

  it('refuses bad register() and login() parameters before sending anything', () => {
    let fetched = 0
    const auth = new AuthManager(URL_, new MemoryStore(), { fetch: (async () => (fetched++, new Response())) as typeof fetch })
    expect(typeError(() => auth.register(undefined as never)).message).toBe('params must be an object with a name')
    expect(typeError(() => auth.register({ name: '  ' })).message).toBe('params.name must be a non-empty string')
    expect(typeError(() => auth.register({ name: 'A', username: '' })).message).toBe('params.username must be a non-empty string when given')
    expect(typeError(() => auth.register({ name: 'A', scope: 'a  b' })).message).toBe('params.scope must be space-separated scope names when given')
    expect(typeError(() => auth.login({ agentId: 'agt_1', username: 'me' })).message).toBe('params must be either { agentId } or { username }, not both')
    expect(typeError(() => auth.login({ agentId: 7 as never })).message).toBe('params.agentId must be a non-empty string when given')
    expect(fetched).toBe(0)
    auth.dispose()
  })

  it('refuses bad setTokens() arguments', () => {
    const auth = new AuthManager(URL_)
    expect(typeError(() => auth.setTokens('')).message).toBe('accessToken must be a non-empty string')
    expect(typeError(() => auth.setTokens('token', 5 as never)).message).toBe('refreshToken must be a string, null or undefined')
    auth.dispose()
  })

  it('keeps tokenProvider a bound function that can be passed around', async () => {
    const auth = new AuthManager(URL_)
    const { tokenProvider } = auth
    expect(auth.tokenProvider).toBe(tokenProvider)
    auth.setTokens('an-opaque-token')
    expect(await tokenProvider()).toBe('an-opaque-token')
    auth.dispose()
    await expect(tokenProvider()).rejects.toMatchObject({ code: 'disposed', message: 'the AuthManager was disposed' })
  })
})
