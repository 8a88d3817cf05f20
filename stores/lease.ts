/**
 * Leases kept in this process. A backend whose writers all live in one
 * process (memory; a file, whose writer lock already shuts other processes
 * out) uses this table; a shared backend such as Redis keeps them there.
 */
import { randomBytes } from 'node:crypto'
import type { Lease } from './contract.js'

export class LeaseTable {
  readonly #now: () => number
  readonly #held = new Map<string, { token: string; expiresAt: number }>()

  constructor(now: () => number) {
    this.#now = now
  }

  acquire(name: string, ttlMs: number): Lease | null {
    checkLeaseArguments(name, ttlMs)
    const now = this.#now()
    const current = this.#held.get(name)
    if (current !== undefined && current.expiresAt > now) return null
    const token = randomBytes(8).toString('hex')
    const expiresAt = now + ttlMs
    this.#held.set(name, { token, expiresAt })
    const table = this.#held
    return Object.freeze({
      name,
      expiresAt,
      release: async (): Promise<void> => {
        if (table.get(name)?.token === token) table.delete(name)
      },
    })
  }

  clear(): void {
    this.#held.clear()
  }
}

export function checkLeaseArguments(name: unknown, ttlMs: unknown): void {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('name must be a non-empty string')
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('ttlMs must be a positive number of milliseconds')
}
