/**
 * setTokens() without a server: the tokens are there for every reader that
 * comes after it, however many awaits later, whatever the store; and a
 * manager disposed right after it ends quietly.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AuthManager, FileStore, MemoryStore } from '../../src/index.js'

const URL_ = 'http://127.0.0.1:9'

/** A store of the seed's TokenStore shape, kept in two fields. */
function seedStore() {
  let access: string | null = null
  let refresh: string | null = null
  return {
    getAccessToken: async () => access,
    getRefreshToken: async () => refresh,
    setTokens: async (a: string, r: string | null) => {
      access = a
      refresh = r
    },
    clear: async () => {
      access = refresh = null
    },
  }
}

describe('setTokens()', () => {
  let dir: string
  const opened: Array<{ close(): Promise<void> }> = []
  const managers: AuthManager[] = []
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-set-tokens-'))
  })
  afterEach(async () => {
    for (const auth of managers.splice(0)) auth.dispose()
    for (const store of opened.splice(0)) await store.close()
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  let files = 0
  const stores = {
    MemoryStore: () => new MemoryStore(),
    FileStore: () => {
      const store = new FileStore(join(dir, `session-${++files}.json`))
      opened.push(store)
      return store
    },
    'a seed TokenStore': () => seedStore(),
    'no store': () => undefined,
  }

  for (const [name, make] of Object.entries(stores)) {
    for (const awaits of [0, 1, 2, 5, 20]) {
      it(`is seen by tokenProvider() after ${awaits} awaits, on a fresh manager with ${name}`, async () => {
        const auth = new AuthManager(URL_, make() as never)
        managers.push(auth)
        auth.setTokens('access-one', 'refresh-one')
        for (let i = 0; i < awaits; i++) await null
        await expect(auth.tokenProvider()).resolves.toBe('access-one')
        expect(auth.state).toBe('authenticated')
      })
    }
  }

  for (const [name, make] of Object.entries(stores)) {
    it(`resolves once the tokens are saved, with ${name}`, async () => {
      const store = make()
      const auth = new AuthManager(URL_, store as never)
      managers.push(auth)
      await auth.setTokens('access-one', 'refresh-one')
      if (store === undefined) return expect(auth.state).toBe('authenticated')
      const saved = 'load' in store ? (await store.load())?.accessToken : await store.getAccessToken()
      expect(saved).toBe('access-one')
    })
  }

  it('rejects the promise of a call whose tokens were replaced before they were saved, and resolves the later one', async () => {
    const auth = new AuthManager(URL_, new MemoryStore())
    managers.push(auth)
    const first = auth.setTokens('access-one', 'refresh-one')
    const second = auth.setTokens('access-two', 'refresh-two')
    await expect(first).rejects.toThrow('the tokens given to setTokens() were replaced or ended before they were saved')
    await expect(second).resolves.toBeUndefined()
    await expect(auth.tokenProvider()).resolves.toBe('access-two')
  })

  it.each([0, 1, 2, 3])('keeps the order of two calls %i microtasks apart on a fresh manager: the later tokens win', async (ticks) => {
    const auth = new AuthManager(URL_, new MemoryStore())
    managers.push(auth)
    auth.setTokens('access-one', 'refresh-one')
    for (let i = 0; i < ticks; i++) await null
    auth.setTokens('access-two', 'refresh-two')
    await expect(auth.tokenProvider()).resolves.toBe('access-two')
    await new Promise((resolve) => setTimeout(resolve, 10))
    await expect(auth.tokenProvider()).resolves.toBe('access-two')
  })

  it.each([0, 1, 2, 3])('ends quietly when dispose() comes %i microtasks after it: no unhandled rejection', async (ticks) => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const auth = new AuthManager(URL_, new MemoryStore())
      auth.setTokens('access-one', 'refresh-one')
      for (let i = 0; i < ticks; i++) await null
      auth.dispose()
      await new Promise((resolve) => setTimeout(resolve, 20))
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
    expect(unhandled).toEqual([])
  })
})
