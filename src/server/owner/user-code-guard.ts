/**
 * Brute-force protection for user codes. A user code has 20^8 (about 2.6e10)
 * values; with a few open requests at a time, an address allowed 10 wrong
 * guesses per 15 minutes would need millions of years to hit one. Wrong codes
 * are counted per address and per signed-in owner account, each with that
 * budget, so neither rotating addresses nor sharing one among accounts helps
 * a guesser. Only lookups that find nothing count, so a human who opens the
 * right link is never slowed by this.
 */
import type { ServerContext } from '../context.js'
import { MissLimiter, type MissLimits } from '../miss-limiter.js'

export const USER_CODE_LIMITS: MissLimits = { misses: 10, windowMs: 15 * 60_000, maxKeys: 10_000 }

/** Who has used up the budget: the address the lookup came from, or the account it was made with. */
export type LimitedBy = 'address' | 'account'

export class UserCodeGuard {
  readonly #byAddress: MissLimiter
  readonly #byOwner: MissLimiter

  constructor(limits: MissLimits = USER_CODE_LIMITS) {
    this.#byAddress = new MissLimiter(limits)
    this.#byOwner = new MissLimiter(limits)
  }

  /** How long until this owner, from this address, may look up a code again; null when they may now. */
  limited(address: string, ownerId: string, now: number): { retryAfterSeconds: number; by: LimitedBy } | null {
    const byAddress = this.#byAddress.retryAfter(address, now)
    const byOwner = this.#byOwner.retryAfter(ownerId, now)
    if (byAddress === 0 && byOwner === 0) return null
    return byAddress >= byOwner ? { retryAfterSeconds: byAddress, by: 'address' } : { retryAfterSeconds: byOwner, by: 'account' }
  }

  /** Records a lookup that found nothing, against the address and the account. */
  miss(address: string, ownerId: string, now: number): void {
    this.#byAddress.miss(address, now)
    this.#byOwner.miss(ownerId, now)
  }
}

/** One guard per server, shared by the owner API and the console so both count against the same budget. */
const guards = new WeakMap<ServerContext, UserCodeGuard>()

export function userCodeGuardOf(ctx: ServerContext): UserCodeGuard {
  let guard = guards.get(ctx)
  if (!guard) guards.set(ctx, (guard = new UserCodeGuard()))
  return guard
}
