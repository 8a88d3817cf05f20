/**
 * A transition is saved before its result is published, against the real
 * server and a store that takes its time (or fails): register() resolves,
 * events$ and session$ tell, and a wait for approval ends only once the
 * store holds what they report.
 */
import { firstValueFrom } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { ApprovalDeniedError, AuthManager, MemoryStore, type AuthLifecycleEvent, type Session, type SessionRecord } from '../../src/index.js'
import type { SessionInput, WriteOptions } from '../../stores/contract.js'
import { bedPerTest } from './support/bed.js'

const SAVE_DELAY_MS = 200

/** A MemoryStore whose writes land SAVE_DELAY_MS late, or fail when `failing` says so; `held` is what it holds right now. */
class SlowStore extends MemoryStore {
  held: SessionRecord | null = null
  failing: (input: SessionInput | null) => boolean = () => false
  /** Saves from now on never return, as on a store that stopped answering. */
  hanging = false

  override async save(record: SessionInput, options?: WriteOptions): Promise<SessionRecord> {
    await new Promise((resolve) => setTimeout(resolve, SAVE_DELAY_MS))
    if (this.hanging) await new Promise(() => {})
    if (this.failing(record)) throw new Error('the disk is full')
    const saved = await super.save(record, options)
    this.held = saved
    return saved
  }

  override async clear(options?: WriteOptions): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, SAVE_DELAY_MS))
    if (this.failing(null)) throw new Error('the disk is full')
    await super.clear(options)
    this.held = null
  }
}

/** The state a record's machine snapshot was saved in, e.g. `{"pendingApproval":"idle"}`; null for no record. */
const savedState = (record: SessionRecord | null) => (record === null ? null : JSON.stringify((record.machine?.snapshot as { value: unknown }).value))
const savedUserCode = (record: SessionRecord | null) => (record?.machine?.snapshot as { context?: { approval?: { userCode?: string } } } | undefined)?.context?.approval?.userCode

describe('AuthManager: results are published only once the store has them', () => {
  const beds = bedPerTest({ interval: 1, accessTtl: 3600 })

  const manager = (store: SlowStore) => {
    const auth = new AuthManager(beds.bed.url, store)
    return beds.track(auth)
  }

  it('resolves register() only once the store holds the pending approval it hands out', async () => {
    const store = new SlowStore()
    const auth = manager(store)
    const handle = await auth.register({ name: 'Slow Store Agent' })

    expect(savedState(store.held)).toBe('{"pendingApproval":"idle"}')
    expect(savedUserCode(store.held)).toBe(handle.userCode)
  })

  it('tells approvalStarted and authenticated on events$, and each state on session$, only after the store holds them', async () => {
    const store = new SlowStore()
    const auth = manager(store)
    const seen: Array<{ what: string; held: string | null }> = []
    auth.events$.subscribe((event: AuthLifecycleEvent) => seen.push({ what: event.type, held: savedState(store.held) }))
    auth.session$.subscribe((session: Session) => seen.push({ what: `session:${session.state}`, held: savedState(store.held) }))

    const handle = await auth.register({ name: 'Slow Store Agent' })
    const waiting = handle.waitForApproval()
    await beds.bed.owner.approve(handle.userCode)
    await waiting
    const heldWhenApproved = savedState(store.held)
    await new Promise((resolve) => setImmediate(resolve))

    const at = (what: string) => seen.find((entry) => entry.what === what)
    expect(at('approvalStarted')).toEqual({ what: 'approvalStarted', held: '{"pendingApproval":"idle"}' })
    expect(at('session:pendingApproval')).toEqual({ what: 'session:pendingApproval', held: '{"pendingApproval":"idle"}' })
    expect(at('authenticated')).toEqual({ what: 'authenticated', held: '{"signedIn":{"active":"scheduled"}}' })
    expect(at('session:authenticated')).toEqual({ what: 'session:authenticated', held: '{"signedIn":{"active":"scheduled"}}' })
    expect(heldWhenApproved).toBe('{"signedIn":{"active":"scheduled"}}')
    expect(store.held?.accessToken).toBe(await auth.tokenProvider())
  })

  it('rejects a denied wait only once the store no longer holds the approval', async () => {
    const store = new SlowStore()
    const auth = manager(store)
    const handle = await auth.register({ name: 'Denied Agent' })
    const waiting = handle.waitForApproval().then(
      () => ({ error: null as unknown, held: store.held }),
      (error: unknown) => ({ error, held: store.held }),
    )
    await beds.bed.owner.deny(handle.userCode)
    const { error, held } = await waiting

    expect(error).toBeInstanceOf(ApprovalDeniedError)
    expect(error).toMatchObject({ code: 'approval_denied' })
    expect(held).toBeNull()
  })

  it('resolves resume() only once session$ tells what it answers, for a restored pending approval', async () => {
    const store = new SlowStore()
    const first = manager(store)
    const handle = await first.register({ name: 'Resumed Agent' })
    first.dispose()

    const auth = manager(store)
    const before = await firstValueFrom(auth.session$)
    const resumed = await auth.resume()
    const after = await firstValueFrom(auth.session$)

    expect(before.state).toBe('unknown')
    expect(resumed).toMatchObject({ userCode: handle.userCode })
    expect(after).toMatchObject({ state: 'pendingApproval', approval: { userCode: handle.userCode } })
  })

  it('starts a late session$ subscriber at the state the store has, not at one still being saved', async () => {
    const store = new SlowStore()
    const auth = manager(store)
    const handle = await auth.register({ name: 'Late Subscriber Agent' })
    const waiting = handle.waitForApproval()
    await beds.bed.owner.approve(handle.userCode)
    // The machine has moved on; the store takes SAVE_DELAY_MS to hold it.
    await expect.poll(() => auth.state, { interval: 2 }).not.toBe('pendingApproval')
    const heldThen = savedState(store.held)
    const first = await firstValueFrom(auth.session$)

    expect(heldThen).toBe('{"pendingApproval":"idle"}')
    expect(first).toMatchObject({ state: 'pendingApproval', approval: { userCode: handle.userCode } })
    await waiting
    expect((await firstValueFrom(auth.session$)).state).toBe('authenticated')
  })

  it('rejects a resume() that waits on a store that stopped answering once the manager is disposed, instead of hanging', async () => {
    const store = new SlowStore()
    const first = beds.track(new AuthManager(beds.bed.url, store))
    await first.register({ name: 'Stuck Store Agent' })
    first.dispose()
    store.hanging = true

    const auth = beds.track(new AuthManager(beds.bed.url, store))
    // A view of session$ is what a transition holds until its save: here, one that never comes.
    auth.session$.subscribe(() => {})
    const resuming = auth.resume().then(
      () => 'resolved',
      (error: unknown) => error,
    )
    await new Promise((resolve) => setTimeout(resolve, SAVE_DELAY_MS * 2))
    auth.dispose()

    expect(await resuming).toMatchObject({ code: 'disposed' })
  })

  it('rejects register() with the store’s error when the approval cannot be saved, tells storeFailed first, and ends the flow', async () => {
    const store = new SlowStore()
    // The request (with its Idempotency-Key) saves; the approval the server answers with does not.
    store.failing = (input) => input !== null && savedState(input as SessionRecord)?.includes('pendingApproval') === true
    const auth = manager(store)
    const events: string[] = []
    auth.events$.subscribe((event) => events.push(event.type))

    const error = await auth.register({ name: 'Unsaved Agent' }).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toBe('the disk is full')
    await new Promise((resolve) => setImmediate(resolve))
    expect(events[0]).toBe('storeFailed')
    expect(events).not.toContain('approvalStarted')
    await expect.poll(() => auth.state).toBe('signedOut')
  })

  it('still ends a denied wait when the store cannot save the end: storeFailed, then ApprovalDeniedError', async () => {
    const store = new SlowStore()
    const auth = manager(store)
    const events: string[] = []
    auth.events$.subscribe((event) => events.push(event.type))
    const handle = await auth.register({ name: 'Denied Agent' })
    store.failing = () => true
    const waiting = handle.waitForApproval()
    await beds.bed.owner.deny(handle.userCode)

    await expect(waiting).rejects.toBeInstanceOf(ApprovalDeniedError)
    await new Promise((resolve) => setImmediate(resolve))
    expect(events.indexOf('storeFailed')).toBeGreaterThanOrEqual(0)
    expect(events.indexOf('storeFailed')).toBeLessThan(events.indexOf('approvalFailed'))
    expect(auth.state).toBe('signedOut')
  })
})
