/**
 * Brute-force protection for user codes. A user code has 20^8 (about 2.6e10)
 * values; with a few open requests at a time, an address allowed 10 wrong
 * guesses per 15 minutes would need millions of years to hit one. Only
 * lookups that find nothing count, so a human who opens the right link is
 * never slowed by this.
 */
import type { ServerContext } from '../context.js'

export interface UserCodeLimits {
  /** Wrong codes allowed per address within the window. */
  misses: number
  windowMs: number
  /** Addresses remembered at most; the oldest are forgotten first. */
  maxAddresses: number
}

export const USER_CODE_LIMITS: UserCodeLimits = { misses: 10, windowMs: 15 * 60_000, maxAddresses: 10_000 }

export class UserCodeGuard {
  readonly #limits: UserCodeLimits
  /** Times of recent misses by address, oldest first, at most `misses` of them. */
  readonly #misses = new Map<string, number[]>()

  constructor(limits: UserCodeLimits = USER_CODE_LIMITS) {
    this.#limits = limits
  }

  /** Seconds until this address may look up a code again, or 0 when it may now. */
  retryAfter(address: string, now: number): number {
    const times = this.#recent(address, now)
    if (times.length < this.#limits.misses) return 0
    return Math.max(1, Math.ceil((times[0]! + this.#limits.windowMs - now) / 1000))
  }

  /** Records a lookup that found nothing. */
  miss(address: string, now: number): void {
    const times = this.#recent(address, now)
    times.push(now)
    if (times.length > this.#limits.misses) times.splice(0, times.length - this.#limits.misses)
    // Re-inserted so the map's order is least recently missed first.
    this.#misses.delete(address)
    this.#misses.set(address, times)
    if (this.#misses.size > this.#limits.maxAddresses) this.#forgetOldest(now)
  }

  #recent(address: string, now: number): number[] {
    const times = this.#misses.get(address)
    if (!times) return []
    const cutoff = now - this.#limits.windowMs
    const firstLive = times.findIndex((time) => time > cutoff)
    if (firstLive === -1) {
      this.#misses.delete(address)
      return []
    }
    if (firstLive > 0) times.splice(0, firstLive)
    return times
  }

  #forgetOldest(now: number): void {
    for (const address of [...this.#misses.keys()]) this.#recent(address, now)
    for (const address of this.#misses.keys()) {
      if (this.#misses.size <= this.#limits.maxAddresses) break
      this.#misses.delete(address)
    }
  }
}

/** One guard per server, shared by the owner API and the console so both count against the same budget. */
const guards = new WeakMap<ServerContext, UserCodeGuard>()

export function userCodeGuardOf(ctx: ServerContext): UserCodeGuard {
  let guard = guards.get(ctx)
  if (!guard) guards.set(ctx, (guard = new UserCodeGuard()))
  return guard
}
