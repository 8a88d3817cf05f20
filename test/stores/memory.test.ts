import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../stores/memory.js'
import { describeSessionStoreContract } from './contract.js'

describeSessionStoreContract('MemoryStore', {
  create: async ({ now }) => new MemoryStore({ now }),
})

describe('MemoryStore', () => {
  it('refuses a clock that is not a function with a TypeError naming options.now', () => {
    expect(() => new MemoryStore({ now: 5 as unknown as () => number })).toThrow(new TypeError('options.now must be a function returning epoch ms'))
  })

  it('keeps separate stores apart', async () => {
    const a = new MemoryStore()
    const b = new MemoryStore()
    await a.save({ accessToken: 'a' })
    expect(await b.load()).toBeNull()
  })
})
