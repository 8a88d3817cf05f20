/**
 * Where a session lives: the seed's plain TokenStore (sync and async), a
 * stored envelope the runtime cannot use, and one store shared by two
 * managers, against the real server.
 */
import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { AuthManager, CountersignError, FileStore, MemoryStore, type AuthLifecycleEvent, type TokenStore } from '../../src/index.js'
import { ShiftedClock } from './support/clock.js'
import { bedPerTest } from './support/bed.js'
import { isDeviceAuthorization, isRefreshGrant } from './support/proxy.js'

/** The seed's token store: two strings, and a log of what was asked of it. */
function seedStore(kind: 'sync' | 'async') {
  const held = { access: null as string | null, refresh: null as string | null }
  const calls: string[] = []
  const answer = <T>(value: T) => (kind === 'sync' ? value : Promise.resolve(value))
  const store: TokenStore = {
    getAccessToken: () => answer(held.access),
    getRefreshToken: () => answer(held.refresh),
    setTokens: (access, refresh) => {
      calls.push('setTokens')
      held.access = access
      held.refresh = refresh
      return answer(undefined)
    },
    clear: () => {
      calls.push('clear')
      held.access = null
      held.refresh = null
      return answer(undefined)
    },
  }
  return { store, held, calls }
}

describe('AuthManager: session stores', () => {
  const beds = bedPerTest({ interval: 1, accessTtl: 3600 })

  const manager = (...args: [store?: ConstructorParameters<typeof AuthManager>[1], options?: ConstructorParameters<typeof AuthManager>[2]]) => {
    const auth = new AuthManager(beds.bed.url, ...args)
    return beds.track(auth)
  }

  async function approve(auth: AuthManager): Promise<void> {
    const handle = await auth.register({ name: 'Store Agent' })
    const waiting = handle.waitForApproval()
    await beds.bed.owner.approve(handle.userCode)
    await waiting
  }

  for (const kind of ['sync', 'async'] as const) {
    it(`keeps the tokens in a seed-shaped ${kind} TokenStore, and a new manager on it is signed in without approval`, async () => {
      const seed = seedStore(kind)
      const first = manager(seed.store)
      await approve(first)
      const token = await first.tokenProvider()
      expect(seed.held.access).toBe(token)
      expect(seed.held.refresh).toMatch(/.{20,}/)
      first.dispose()

      const second = manager(seed.store)
      expect(await second.tokenProvider()).toBe(token)
      expect(await second.resume()).toBe('authenticated')
      expect(beds.bed.proxy.count(isDeviceAuthorization)).toBe(1)

      await second.forceRefresh()
      expect(seed.held.access).toBe(await second.tokenProvider())
      expect(seed.held.access).not.toBe(token)

      await second.revoke()
      expect(seed.calls.at(-1)).toBe('clear')
      expect(seed.held).toEqual({ access: null, refresh: null })
    })
  }

  it('falls back to the tokens of a record whose envelope has an unknown schema version, and says so once', async () => {
    const saved = new MemoryStore()
    await approve(manager(saved))
    const record = (await saved.load())!
    const store = new MemoryStore()
    await store.save({ ...record, machine: { schemaVersion: 99, savedAt: Date.now(), snapshot: { from: 'the future' } } })

    const warnings: string[] = []
    const auth = manager(store, { logger: { warn: (message) => warnings.push(message) } })
    const events: AuthLifecycleEvent[] = []
    auth.events$.subscribe((event) => events.push(event))

    expect(await auth.resume()).toBe('authenticated')
    expect(await auth.tokenProvider()).toBe(record.accessToken)
    expect(auth.agentId).toBe(record.agentId)
    expect(warnings).toEqual([
      'countersign: the stored session was saved with snapshot schema version 99; this runtime reads version 1; continuing with the tokens the record holds',
    ])
    await new Promise((resolve) => setImmediate(resolve))
    expect(events.filter((event) => event.type === 'restoreFailed')).toEqual([
      { type: 'restoreFailed', failure: { code: 'restore_failed', message: warnings[0]!.replace('countersign: ', ''), at: expect.any(Number) } },
    ])
    // The record is rewritten in the current version.
    await auth.forceRefresh()
    expect((await store.load())?.machine?.schemaVersion).toBe(1)
  })

  it('falls back to the tokens of a record whose snapshot does not restore, and says so once', async () => {
    const saved = new MemoryStore()
    await approve(manager(saved))
    const record = (await saved.load())!
    const snapshot = JSON.parse(JSON.stringify(record.machine!.snapshot)) as { value: unknown }
    snapshot.value = 'nowhere'
    const store = new MemoryStore()
    await store.save({ ...record, machine: { ...record.machine!, snapshot } })

    const warnings: string[] = []
    const auth = manager(store, { logger: { warn: (message) => warnings.push(message) } })
    expect(await auth.resume()).toBe('authenticated')
    expect(await auth.tokenProvider()).toBe(record.accessToken)
    expect(warnings).toEqual(['countersign: the stored machine snapshot did not restore; continuing with the tokens the record holds'])
  })

  it('rejects resume() with FILE_LOCKED when another writer holds the session file, and works once it is free', async () => {
    const path = join(beds.bed.dir, 'locked.json')
    const holder = new FileStore(path)
    await holder.open()
    const store = new FileStore(path)
    const auth = manager(store)
    const error = await auth.resume().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({ code: 'file_locked', message: `the file ${path} is in use: this process already holds its writer lock (${path}.lock)` })
    expect(auth.state).toBe('unknown')
    await holder.close()
    expect(await auth.resume()).toBeNull()
    expect(auth.state).toBe('signedOut')
    await store.close()
  })

  it('refreshes once for two managers sharing one store: the second adopts what the first saved', async () => {
    const store = new MemoryStore()
    const clock = new ShiftedClock()
    const first = manager(store, { clock })
    await approve(first)
    const second = manager(store, { clock })
    expect(await second.resume()).toBe('authenticated')
    const old = await second.tokenProvider()
    expect(await first.tokenProvider()).toBe(old)

    clock.shiftMs = 3600_000 - 30_000
    const [a, b] = await Promise.all([first.tokenProvider(), second.tokenProvider()])

    expect(a).not.toBe(old)
    expect(b).toBe(a)
    expect(beds.bed.proxy.count(isRefreshGrant)).toBe(1)
    expect((await store.load())?.accessToken).toBe(a)
  })
})
