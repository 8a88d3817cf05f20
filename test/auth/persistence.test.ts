/**
 * The save queue and the restore rules, at the unit level with a real
 * MemoryStore: writes never overlap, a burst shares writes, every request is
 * covered by a write that started after it, and conflicts are resolved.
 */
import { describe, expect, it } from 'vitest'
import type { SessionRecord } from '../../stores/contract.js'
import { MemoryStore } from '../../stores/memory.js'
import { SaveQueue, type PendingWrite, type SaveSource } from '../../src/auth/persistence.js'
import { planRestore, wakeTimeOf } from '../../src/auth/restore.js'

/** A store that counts overlapping saves and lets a test hold each one. */
class WatchedStore extends MemoryStore {
  running = 0
  overlapped = false
  saves: Array<string | null> = []
  override async save(...args: Parameters<MemoryStore['save']>): Promise<SessionRecord> {
    this.running++
    if (this.running > 1) this.overlapped = true
    await new Promise((resolve) => setImmediate(resolve))
    try {
      const saved = await super.save(...args)
      this.saves.push(saved.accessToken)
      return saved
    } finally {
      this.running--
    }
  }
}

function source(state: { token: string }, onConflict: SaveSource['onConflict'] = () => true): SaveSource {
  return {
    nextWrite: (): PendingWrite => ({ kind: 'save', record: { accessToken: state.token }, covers: state.token }),
    onConflict,
  }
}

describe('SaveQueue', () => {
  it('never overlaps writes, shares a write among a burst, and covers each request with a write that started after it', async () => {
    const store = new WatchedStore()
    const state = { token: 'v1' }
    const queue = new SaveQueue(store, source(state))
    const first = queue.request()
    state.token = 'v2'
    const second = queue.request()
    await first
    expect((await store.load())?.accessToken).toBe('v2')
    state.token = 'v3'
    const burst = Array.from({ length: 10 }, () => queue.request())
    await Promise.all([second, ...burst])
    expect(store.overlapped).toBe(false)
    expect(store.saves).toEqual(['v2', 'v3'])
    expect(queue.version).toBe(2)
    expect(queue.lastCovered).toBe('v3')
  })

  it('reads the store after a conflict, asks the manager, and writes again on the new version', async () => {
    const store = new MemoryStore()
    const state = { token: 'mine' }
    const seen: Array<string | null> = []
    const queue = new SaveQueue(store, source(state, (current) => (seen.push(current?.accessToken ?? null), true)))
    await queue.request()
    await store.save({ accessToken: 'someone else' })
    await queue.request()
    expect(seen).toEqual(['someone else'])
    expect(await store.load()).toMatchObject({ accessToken: 'mine', version: 3 })
    expect(queue.version).toBe(3)
  })

  it('drops a write the manager declines after a conflict, leaving the other writer’s record', async () => {
    const store = new MemoryStore()
    const queue = new SaveQueue(store, source({ token: 'older' }, () => false))
    await store.save({ accessToken: 'newer' })
    await queue.request()
    expect(await store.load()).toMatchObject({ accessToken: 'newer', version: 1 })
    expect(queue.lastCovered).toBeUndefined()
  })

  it('rejects the request when the store fails, and the next request writes again', async () => {
    const store = new MemoryStore()
    let fail = true
    const failing = Object.assign(Object.create(store) as MemoryStore, {
      save: (...args: Parameters<MemoryStore['save']>) => (fail ? Promise.reject(new Error('disk full')) : store.save(...args)),
    })
    const queue = new SaveQueue(failing, source({ token: 't' }))
    await expect(queue.request()).rejects.toThrow('disk full')
    fail = false
    await queue.request()
    expect((await store.load())?.accessToken).toBe('t')
  })
})

describe('restore rules', () => {
  const record = (machine: unknown, accessToken: string | null = 'at') =>
    ({ version: 1, agentId: 'agt_1', accessToken, refreshToken: 'rt', accessExpiresAt: 2_000_000, refreshExpiresAt: null, scope: 'agent', issuer: null, machine }) as SessionRecord

  it('uses the tokens of a record without an envelope (a seed TokenStore) without calling it a problem', () => {
    expect(planRestore(record(null), 1000)).toMatchObject({ kind: 'tokens', problem: null, tokens: { accessToken: 'at', refreshToken: 'rt', accessExpiresAt: 2_000_000, obtainedAt: 1000 } })
    expect(planRestore(null, 1000)).toEqual({ kind: 'empty', problem: null })
  })

  it('names what is wrong with an envelope it will not use', () => {
    expect(planRestore(record({ schemaVersion: 1, savedAt: 1, snapshot: { status: 'done' } }), 1000)).toMatchObject({
      kind: 'tokens',
      problem: 'the stored machine snapshot has status "done", not "active"; continuing with the tokens the record holds',
    })
    expect(planRestore(record({ schemaVersion: 1, savedAt: 1, snapshot: 'x' }, null), 1000)).toEqual({
      kind: 'empty',
      problem: 'the stored machine snapshot is not an object; the record holds no tokens to continue with',
    })
  })

  it('finds when a stored idle snapshot must wake, and refuses one with an effect under way', () => {
    const sleeping = (until: number, src = 'sleepUntil') => ({ status: 'active', children: { a: { src, snapshot: { status: 'active', input: { until } } } } })
    expect(wakeTimeOf(sleeping(5000))).toBe(5000)
    expect(wakeTimeOf({ status: 'active', children: {} })).toBeNull()
    expect(wakeTimeOf(sleeping(5000, 'refreshTokens'))).toBeUndefined()
  })
})
