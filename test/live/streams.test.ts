import { Subject, map } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { publicStream } from '../../src/live/streams.js'

describe('LiveSocket streams', () => {
  it('deliver values a microtask later, in order', async () => {
    const subject = new Subject<number>()
    const seen: number[] = []
    publicStream(subject, () => {}).subscribe((n) => seen.push(n))
    subject.next(1)
    subject.next(2)
    expect(seen).toEqual([])
    await Promise.resolve()
    await new Promise((resolve) => setImmediate(resolve))
    expect(seen).toEqual([1, 2])
  })

  it('report a subscriber that throws, and keep delivering to it and to the others', async () => {
    const subject = new Subject<number>()
    const reported: unknown[] = []
    const stream = publicStream(subject, (error) => reported.push(error))
    const calm: number[] = []
    const thrower: number[] = []
    stream.subscribe((n) => {
      thrower.push(n)
      throw new Error(`subscriber bug ${n}`)
    })
    stream.subscribe({ next: (n) => calm.push(n) })
    subject.next(1)
    subject.next(2)
    await new Promise((resolve) => setImmediate(resolve))
    expect(calm).toEqual([1, 2])
    expect(thrower).toEqual([1, 2])
    expect(reported).toEqual([new Error('subscriber bug 1'), new Error('subscriber bug 2')])
  })

  it('work with operators, and deliver completion', async () => {
    const subject = new Subject<number>()
    const seen: Array<number | 'done'> = []
    publicStream(subject, () => {})
      .pipe(map((n) => n * 10))
      .subscribe({ next: (n) => seen.push(n), complete: () => seen.push('done') })
    subject.next(1)
    subject.complete()
    await new Promise((resolve) => setImmediate(resolve))
    expect(seen).toEqual([10, 'done'])
  })
})

describe('Outbox', () => {
  it('delivers the values of several subjects together a microtask later, in the order put, and completions after', async () => {
    const { Outbox } = await import('../../src/live/streams.js')
    const outbox = new Outbox()
    const letters = new Subject<string>()
    const numbers = new Subject<number>()
    const seen: string[] = []
    letters.subscribe({ next: (v) => seen.push(v), complete: () => seen.push('letters done') })
    numbers.subscribe((v) => {
      seen.push(String(v))
      // Put while draining: delivered in the same turn, after what was already waiting.
      if (v === 1) outbox.put(numbers, 2)
    })
    outbox.put(letters, 'a')
    outbox.put(numbers, 1)
    outbox.put(letters, 'b')
    outbox.end(letters)
    expect(seen).toEqual([])
    await Promise.resolve()
    expect(seen).toEqual(['a', '1', 'b', 'letters done', '2'])
  })
})
