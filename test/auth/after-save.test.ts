import { describe, expect, it } from 'vitest'
import { AfterSave } from '../../src/auth/after-save.js'

/** A save that the test settles by hand. */
function save() {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

describe('AfterSave', () => {
  it('publishes nothing before a save settles, then, in order, all held up to its transition (a later write covers the states before it)', async () => {
    const published: string[] = []
    const after = new AfterSave(() => {})
    const first = save()
    const second = save()
    after.hold(() => published.push('a'))
    after.place(first.promise)
    after.hold(() => published.push('b'))
    after.place(second.promise)
    after.hold(() => published.push('c'))
    after.place(save().promise)

    await turn()
    expect(published).toEqual([])
    second.resolve()
    await turn()
    expect(published).toEqual(['a', 'b'])
    first.resolve()
    await turn()
    expect(published).toEqual(['a', 'b'])
  })

  it('ends whenDrained() once what was held at the call is published, however much is held after it', async () => {
    const after = new AfterSave(() => {})
    const first = save()
    after.hold(() => {})
    after.place(first.promise)
    let drained = false
    void after.whenDrained().then(() => (drained = true))
    // A session that keeps transitioning: something is held at every moment from here on.
    after.hold(() => {})
    after.place(save().promise)

    await turn()
    expect(drained).toBe(false)
    first.resolve()
    await turn()
    expect(drained).toBe(true)
  })

  it('ends whenDrained() at once when nothing is held, and on abandon() when something is', async () => {
    const after = new AfterSave(() => {})
    await after.whenDrained()
    after.hold(() => {})
    after.place(save().promise)
    let drained = false
    void after.whenDrained().then(() => (drained = true))
    await turn()
    expect(drained).toBe(false)
    after.abandon()
    await turn()
    expect(drained).toBe(true)
  })
})
