import { describe, expect, it } from 'vitest'
import { MissLimiter } from '../../src/server/miss-limiter.js'

const MINUTE = 60_000

describe('MissLimiter', () => {
  it('lets a key miss up to its budget, then gives the seconds until its oldest miss leaves the window', () => {
    const limiter = new MissLimiter({ misses: 3, windowMs: MINUTE, maxKeys: 10 })
    for (const at of [0, 10_000, 20_000]) {
      expect(limiter.retryAfter('a', at)).toBe(0)
      limiter.miss('a', at)
    }
    expect(limiter.retryAfter('a', 20_000)).toBe(40)
    expect(limiter.retryAfter('a', 59_500)).toBe(1)
    // The window slides: the first miss has aged out, the other two still count.
    expect(limiter.retryAfter('a', 60_000)).toBe(0)
    limiter.miss('a', 60_000)
    expect(limiter.retryAfter('a', 60_000)).toBe(10)
  })

  it('keeps each key to its own budget', () => {
    const limiter = new MissLimiter({ misses: 2, windowMs: MINUTE, maxKeys: 10 })
    limiter.miss('a', 0)
    limiter.miss('a', 0)
    expect(limiter.retryAfter('a', 0)).toBe(60)
    expect(limiter.retryAfter('b', 0)).toBe(0)
  })

  it('remembers at most maxKeys keys, forgetting the least recently missed first', () => {
    const limiter = new MissLimiter({ misses: 1, windowMs: MINUTE, maxKeys: 2 })
    limiter.miss('a', 0)
    limiter.miss('b', 1)
    limiter.miss('a', 2)
    limiter.miss('c', 3)
    expect(limiter.retryAfter('b', 3)).toBe(0)
    expect(limiter.retryAfter('a', 3)).toBeGreaterThan(0)
    expect(limiter.retryAfter('c', 3)).toBeGreaterThan(0)
  })

  it('refuses a budget that is not a positive whole number', () => {
    for (const misses of [0, -1, 1.5, Number.NaN]) {
      expect(() => new MissLimiter({ misses, windowMs: MINUTE, maxKeys: 10 })).toThrow(new TypeError('limits.misses must be a positive integer'))
    }
  })
})
