import { describe, expect, it } from 'vitest'
import { FileStore } from '../../stores/file.js'
import { MemoryStore } from '../../stores/memory.js'
import { isTokenStore, toSessionStore, TokenStoreAdapter, type TokenStore } from '../../stores/token-store.js'
import { describeSessionStoreContract, fullSession, nextChange } from './contract.js'

/** A seed-shaped store over a plain object, counting its calls; `async` makes every method async. */
function seedStore(async: boolean) {
  const held: { access: string | null; refresh: string | null } = { access: null, refresh: null }
  const calls: string[] = []
  const answer = <T>(value: T) => (async ? Promise.resolve(value) : value)
  const store = {
    getAccessToken: () => answer(held.access),
    getRefreshToken: () => answer(held.refresh),
    setTokens: (access: string, refresh: string) => {
      calls.push(`setTokens(${access}, ${refresh})`)
      held.access = access
      held.refresh = refresh
      return answer(undefined)
    },
    clear: () => {
      calls.push('clear()')
      held.access = null
      held.refresh = null
      return answer(undefined)
    },
  } satisfies TokenStore
  return { store, held, calls }
}

for (const async of [false, true]) {
  const seeds = new Map<TokenStoreAdapter, TokenStore>()
  describeSessionStoreContract(`TokenStoreAdapter over a ${async ? 'async' : 'sync'} seed TokenStore`, {
    create: async ({ now }) => {
      const seed = seedStore(async).store
      const adapter = new TokenStoreAdapter(seed, { now })
      seeds.set(adapter, seed)
      return adapter
    },
    persistence: {
      keeps: 'tokens',
      reopen: async (closed, { now }) => new TokenStoreAdapter(seeds.get(closed as TokenStoreAdapter)!, { now }),
    },
  })
}

describe('TokenStoreAdapter', () => {
  it('loads the tokens a seed store already holds as a record of version 1', async () => {
    const seed = seedStore(true)
    seed.held.access = 'saved-access'
    seed.held.refresh = 'saved-refresh'
    const record = await new TokenStoreAdapter(seed.store).load()
    expect(record).toMatchObject({ version: 1, accessToken: 'saved-access', refreshToken: 'saved-refresh', agentId: null })
  })

  it('calls setTokens only when the tokens change', async () => {
    const seed = seedStore(false)
    const adapter = new TokenStoreAdapter(seed.store)
    await adapter.save(fullSession)
    await adapter.save({ ...fullSession, machine: { ...fullSession.machine, savedAt: 2 } })
    await adapter.save({ ...fullSession, accessToken: 'access-2' })
    await adapter.save({ agentId: 'agt_1' })
    expect(seed.calls).toEqual(['setTokens(access-1, refresh-1)', 'setTokens(access-2, refresh-1)', 'clear()'])
  })

  it('writes a missing token as the empty string and reads it back as null', async () => {
    const seed = seedStore(false)
    await new TokenStoreAdapter(seed.store).save({ accessToken: 'only-access' })
    expect(seed.held).toEqual({ access: 'only-access', refresh: '' })
    expect(await new TokenStoreAdapter(seed.store).load()).toMatchObject({ accessToken: 'only-access', refreshToken: null })
  })

  it('reports tokens changed behind its back as a remote record holding only those tokens', async () => {
    const seed = seedStore(true)
    const adapter = new TokenStoreAdapter(seed.store)
    await adapter.save(fullSession)
    await seed.store.setTokens('other-access', 'other-refresh')
    const change = nextChange(adapter)
    const loaded = await adapter.load()
    expect(loaded).toMatchObject({ version: 2, accessToken: 'other-access', refreshToken: 'other-refresh', agentId: null, machine: null })
    expect(await change).toEqual({ version: 2, record: loaded, origin: 'remote' })
  })

  it('leaves the record unsaved when the seed store fails to write', async () => {
    const seed = seedStore(true)
    const failing = { ...seed.store, setTokens: async () => { throw new Error('disk full') } }
    const adapter = new TokenStoreAdapter(failing)
    await expect(adapter.save(fullSession)).rejects.toThrow('disk full')
    expect(await adapter.load()).toBeNull()
  })

  it('refuses a seed store whose getter returns a non-string with a TypeError naming the method', async () => {
    const seed = seedStore(false)
    const odd = { ...seed.store, getAccessToken: () => 42 as unknown as string }
    await expect(new TokenStoreAdapter(odd).load()).rejects.toThrow(new TypeError('store.getAccessToken() must return a string, null or undefined'))
  })
})

describe('isTokenStore', () => {
  it('tells a seed TokenStore from a session store and from other values', () => {
    expect(isTokenStore(seedStore(false).store)).toBe(true)
    expect(isTokenStore(new MemoryStore())).toBe(false)
    expect(isTokenStore({ getAccessToken() {}, getRefreshToken() {}, setTokens() {} })).toBe(false)
    expect(isTokenStore(null)).toBe(false)
    expect(isTokenStore('store')).toBe(false)
  })
})

describe('toSessionStore', () => {
  it('gives a new MemoryStore when no store is passed', () => {
    expect(toSessionStore(undefined)).toBeInstanceOf(MemoryStore)
    expect(toSessionStore(null)).toBeInstanceOf(MemoryStore)
  })

  it('passes a session store through unchanged', () => {
    const memory = new MemoryStore()
    const file = new FileStore('/tmp/never-opened.json')
    expect(toSessionStore(memory)).toBe(memory)
    expect(toSessionStore(file)).toBe(file)
  })

  it('wraps a seed TokenStore', () => {
    const seed = seedStore(false).store
    const wrapped = toSessionStore(seed)
    expect(wrapped).toBeInstanceOf(TokenStoreAdapter)
    expect((wrapped as TokenStoreAdapter).tokenStore).toBe(seed)
  })

  it('refuses anything else with a TypeError naming store and what it lacks', () => {
    expect(() => toSessionStore('file.json')).toThrow(
      new TypeError('store must be a TokenStore ({ getAccessToken, getRefreshToken, setTokens, clear }) or a session store such as MemoryStore or FileStore'),
    )
    expect(() => toSessionStore({ getAccessToken() {}, getRefreshToken() {}, clear() {} })).toThrow(/^store must be a TokenStore .*; it lacks setTokens$/)
  })
})
