/**
 * The one contract suite every session store passes. A backend's test file
 * calls `describeSessionStoreContract` with a harness that makes fresh stores.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { CountersignError } from '../../src/errors.js'
import type { SessionChange, SessionInput, SessionStore } from '../../stores/contract.js'

export interface ContractHarness {
  /** A store over a fresh, empty backend; `now` is its lease clock. */
  create(options: { now: () => number }): Promise<SessionStore>
  /** How the backend keeps data across a close and a reopen; absent when nothing survives. */
  persistence?: {
    keeps: 'record' | 'tokens'
    /** Opens the same backend again after `closed` was closed. */
    reopen(closed: SessionStore, options: { now: () => number }): Promise<SessionStore>
  }
}

export const fullSession = {
  agentId: 'agt_123',
  accessToken: 'access-1',
  refreshToken: 'refresh-1',
  accessExpiresAt: Date.UTC(2026, 0, 1, 1),
  refreshExpiresAt: Date.UTC(2026, 1, 1),
  scope: 'agent offline_access',
  issuer: 'http://127.0.0.1:4000',
  machine: { schemaVersion: 1, savedAt: Date.UTC(2026, 0, 1), snapshot: { value: { pendingApproval: 'waiting' }, context: { nextPollAt: 5, list: [1, 'two', null] } } },
} satisfies SessionInput

/** The next change the store reports. */
export function nextChange(store: SessionStore): Promise<SessionChange> {
  return new Promise((resolve) => {
    const stop = store.watch((change) => {
      stop()
      resolve(change)
    })
  })
}

export async function expectCountersignError(promise: Promise<unknown>, code: string, message: RegExp): Promise<CountersignError> {
  const error = await promise.then(
    () => { throw new Error(`expected a rejection with code ${code}`) },
    (reason: unknown) => reason,
  )
  expect(error).toBeInstanceOf(CountersignError)
  expect((error as CountersignError).code).toBe(code)
  expect((error as CountersignError).message).toMatch(message)
  return error as CountersignError
}

export function describeSessionStoreContract(name: string, harness: ContractHarness): void {
  describe(`${name} keeps the session-store contract`, () => {
    let time = Date.UTC(2026, 0, 1)
    const now = () => time
    const open: SessionStore[] = []
    async function create(): Promise<SessionStore> {
      const store = await harness.create({ now })
      open.push(store)
      return store
    }
    afterEach(async () => {
      await Promise.all(open.splice(0).map((store) => store.close()))
      time = Date.UTC(2026, 0, 1)
    })

    it('loads null from an empty store', async () => {
      const store = await create()
      expect(await store.load()).toBeNull()
    })

    it('saves a whole session and loads it back with version 1', async () => {
      const store = await create()
      const saved = await store.save(fullSession, { expectedVersion: 0 })
      expect(saved).toEqual({ ...fullSession, version: 1 })
      expect(await store.load()).toEqual({ ...fullSession, version: 1 })
    })

    it('stores omitted fields as null and replaces the record whole', async () => {
      const store = await create()
      await store.save(fullSession)
      const saved = await store.save({ agentId: 'agt_9' })
      expect(saved).toEqual({
        version: 2, agentId: 'agt_9', accessToken: null, refreshToken: null, accessExpiresAt: null,
        refreshExpiresAt: null, scope: null, issuer: null, machine: null,
      })
    })

    it('raises the version by one on every save', async () => {
      const store = await create()
      const versions: number[] = []
      for (let i = 1; i <= 4; i++) versions.push((await store.save({ ...fullSession, accessToken: `access-${i}` })).version)
      expect(versions).toEqual([1, 2, 3, 4])
      expect((await store.load())?.accessToken).toBe('access-4')
    })

    it('rejects a save with a stale expected version as store_conflict and keeps the record', async () => {
      const store = await create()
      await store.save(fullSession, { expectedVersion: 0 })
      await store.save({ ...fullSession, accessToken: 'access-2' }, { expectedVersion: 1 })
      await expectCountersignError(store.save({ ...fullSession, accessToken: 'stale' }, { expectedVersion: 1 }), 'store_conflict', /expected version 1, found version 2/)
      expect((await store.load())?.accessToken).toBe('access-2')
    })

    it('treats expected version 0 as "no record yet"', async () => {
      const store = await create()
      await store.save(fullSession, { expectedVersion: 0 })
      await expectCountersignError(store.save(fullSession, { expectedVersion: 0 }), 'store_conflict', /already holds a record \(version 1\)/)
    })

    it('lets exactly one of two concurrent saves with the same expected version win', async () => {
      const store = await create()
      await store.save(fullSession)
      const results = await Promise.allSettled([
        store.save({ ...fullSession, accessToken: 'a' }, { expectedVersion: 1 }),
        store.save({ ...fullSession, accessToken: 'b' }, { expectedVersion: 1 }),
      ])
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
      const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
      expect((loser.reason as CountersignError).code).toBe('store_conflict')
      const winner = results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ accessToken: string }>
      expect((await store.load())?.accessToken).toBe(winner.value.accessToken)
    })

    it('clears the record while the version keeps growing, so an old version never matches again', async () => {
      const store = await create()
      await store.save(fullSession)
      await store.clear({ expectedVersion: 1 })
      expect(await store.load()).toBeNull()
      await expectCountersignError(store.save(fullSession, { expectedVersion: 1 }), 'store_conflict', /expected version 1, found version 2 \(cleared\)/)
      expect((await store.save(fullSession, { expectedVersion: 0 })).version).toBe(3)
    })

    it('agrees with a plain model over any sequence of saves and clears, with or without compare-and-set', async () => {
      const step = fc.record({
        kind: fc.constantFrom('save' as const, 'clear' as const),
        token: fc.string({ minLength: 1, maxLength: 8 }),
        expected: fc.oneof(fc.constant('current' as const), fc.constant('any' as const), fc.nat(6)),
      })
      await fc.assert(
        fc.asyncProperty(fc.array(step, { maxLength: 10 }), async (steps) => {
          const store = await create()
          let version = 0
          let token: string | null = null
          for (const { kind, token: next, expected } of steps) {
            const expectedVersion = expected === 'current' ? version : expected === 'any' ? undefined : expected
            const matches = expectedVersion === undefined || (expectedVersion === 0 ? token === null : expectedVersion === version)
            const options = expectedVersion === undefined ? {} : { expectedVersion }
            const attempt = kind === 'save' ? store.save({ accessToken: next }, options) : store.clear(options)
            if (matches) {
              await attempt
              version++
              token = kind === 'save' ? next : null
            } else {
              await expect(attempt).rejects.toMatchObject({ code: 'store_conflict' })
            }
            const loaded = await store.load()
            expect(loaded === null ? null : { version: loaded.version, token: loaded.accessToken }).toEqual(token === null ? null : { version, token })
          }
        }),
        { numRuns: 25 },
      )
    })

    it('rejects a clear with a stale expected version and keeps the record', async () => {
      const store = await create()
      await store.save(fullSession)
      await store.save(fullSession)
      await expectCountersignError(store.clear({ expectedVersion: 1 }), 'store_conflict', /expected version 1, found version 2/)
      expect((await store.load())?.version).toBe(2)
    })

    it('hands out frozen records that later changes to the input cannot touch', async () => {
      const store = await create()
      const input = structuredClone(fullSession)
      const saved = await store.save(input)
      input.accessToken = 'changed'
      input.machine.snapshot.context.list.push('more')
      const loaded = await store.load()
      expect(loaded?.accessToken).toBe('access-1')
      expect(loaded?.machine?.snapshot).toEqual(fullSession.machine.snapshot)
      expect(Object.isFrozen(saved)).toBe(true)
      expect(Object.isFrozen(loaded)).toBe(true)
      expect(() => { (loaded as { accessToken: string }).accessToken = 'x' }).toThrow(TypeError)
      expect(() => { (loaded!.machine!.snapshot as { context: { list: unknown[] } }).context.list.push(1) }).toThrow(TypeError)
    })

    it('refuses malformed records with a TypeError naming the field, and saves nothing', async () => {
      const store = await create()
      const bad: Array<[unknown, RegExp]> = [
        [null, /^record must be an object$/],
        [{ accessToken: 42 }, /^record\.accessToken must be a string or null$/],
        [{ accessExpiresAt: 'soon' }, /^record\.accessExpiresAt must be a time in epoch ms or null$/],
        [{ accesToken: 'typo' }, /^record\.accesToken is not a session field/],
        [{ machine: { schemaVersion: 1.5, savedAt: 1, snapshot: {} } }, /^record\.machine\.schemaVersion must be an integer$/],
        [{ machine: { schemaVersion: 1, savedAt: 1, snapshot: { n: 1n } } }, /^record\.machine\.snapshot must be JSON-serializable$/],
        [{ machine: { schemaVersion: 1, savedAt: 1, snapshot: { toJSON: () => undefined } } }, /^record\.machine\.snapshot must be a JSON value$/],
      ]
      for (const [record, message] of bad) {
        const error = await store.save(record as SessionInput).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(TypeError)
        expect((error as Error).message).toMatch(message)
      }
      expect(await store.load()).toBeNull()
    })

    it('refuses a bad expected version with a TypeError naming options.expectedVersion', async () => {
      const store = await create()
      for (const expectedVersion of [-1, 1.5, Number.NaN]) {
        const error = await store.save(fullSession, { expectedVersion }).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(TypeError)
        expect((error as Error).message).toBe('options.expectedVersion must be an integer ≥ 0')
      }
    })

    it('reports each change on the feed after the write, asynchronously and in order', async () => {
      const store = await create()
      const changes: SessionChange[] = []
      store.watch((change) => changes.push(change))
      const saving = store.save(fullSession)
      expect(changes).toEqual([])
      await saving
      await store.clear()
      await new Promise((resolve) => setImmediate(resolve))
      expect(changes).toEqual([
        { version: 1, record: { ...fullSession, version: 1 }, origin: 'local' },
        { version: 2, record: null, origin: 'local' },
      ])
    })

    it('keeps delivering to other listeners when one listener throws', async () => {
      const store = await create()
      const warnings: string[] = []
      const onWarning = (warning: Error) => warnings.push(warning.message)
      process.on('warning', onWarning)
      try {
        store.watch(() => { throw new Error('listener bug with secret access-1') })
        const change = nextChange(store)
        await store.save(fullSession)
        expect((await change).version).toBe(1)
        await new Promise((resolve) => setImmediate(resolve))
        expect(warnings).toEqual(['a session change listener threw (Error); the store carried on'])
      } finally {
        process.off('warning', onWarning)
      }
    })

    it('stops delivering to a listener once it unsubscribes', async () => {
      const store = await create()
      const seen: number[] = []
      const unsubscribe = store.watch((change) => seen.push(change.version))
      await store.save(fullSession)
      await new Promise((resolve) => setImmediate(resolve))
      unsubscribe()
      await store.save(fullSession)
      await new Promise((resolve) => setImmediate(resolve))
      expect(seen).toEqual([1])
    })

    it('gives a lease to one holder at a time until it is released', async () => {
      const store = await create()
      const lease = await store.acquireLease('refresh', 1_000)
      expect(lease).toMatchObject({ name: 'refresh', expiresAt: time + 1_000 })
      expect(await store.acquireLease('refresh', 1_000)).toBeNull()
      expect(await store.acquireLease('other', 1_000)).not.toBeNull()
      await lease!.release()
      await lease!.release()
      expect(await store.acquireLease('refresh', 1_000)).not.toBeNull()
    })

    it('lets a lease expire, and a late release does not end the next holder’s lease', async () => {
      const store = await create()
      const first = await store.acquireLease('refresh', 1_000)
      time += 999
      expect(await store.acquireLease('refresh', 1_000)).toBeNull()
      time += 1
      const second = await store.acquireLease('refresh', 1_000)
      expect(second).not.toBeNull()
      await first!.release()
      expect(await store.acquireLease('refresh', 1_000)).toBeNull()
    })

    it('refuses bad lease arguments with a TypeError naming them', async () => {
      const store = await create()
      await expect(store.acquireLease('', 1_000)).rejects.toThrow(new TypeError('name must be a non-empty string'))
      await expect(store.acquireLease('refresh', 0)).rejects.toThrow(new TypeError('ttlMs must be a positive number of milliseconds'))
    })

    it('refuses every use after close with code disposed, and closes twice without harm', async () => {
      const store = await create()
      await store.save(fullSession)
      await store.close()
      await store.close()
      await expectCountersignError(store.load(), 'disposed', /^the session store is closed$/)
      await expectCountersignError(store.save(fullSession), 'disposed', /closed/)
      await expectCountersignError(store.clear(), 'disposed', /closed/)
      await expectCountersignError(store.acquireLease('refresh', 1), 'disposed', /closed/)
      expect(() => store.watch(() => {})).toThrow(/the session store is closed/)
    })

    const persistence = harness.persistence
    if (persistence !== undefined) {
      it(`keeps the ${persistence.keeps === 'record' ? 'whole record' : 'two tokens'} across a close and a reopen`, async () => {
        const store = await create()
        await store.save(fullSession)
        await store.close()
        const reopened = await persistence.reopen(store, { now })
        open.push(reopened)
        const loaded = await reopened.load()
        if (persistence.keeps === 'record') expect(loaded).toEqual({ ...fullSession, version: 1 })
        else expect(loaded).toMatchObject({ accessToken: fullSession.accessToken, refreshToken: fullSession.refreshToken, agentId: null, machine: null })
      })

      it('keeps a clear across a close and a reopen', async () => {
        const store = await create()
        await store.save(fullSession)
        await store.clear()
        await store.close()
        const reopened = await persistence.reopen(store, { now })
        open.push(reopened)
        expect(await reopened.load()).toBeNull()
      })
    }
  })
}
