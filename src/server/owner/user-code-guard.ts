/**
 * Brute-force protection for user codes. A user code has 20^8 (about 2.6e10)
 * values; with a few open requests at a time, an address allowed 10 wrong
 * guesses per 15 minutes would need millions of years to hit one. Only
 * lookups that find nothing count, so a human who opens the right link is
 * never slowed by this.
 */
import type { ServerContext } from '../context.js'
import { MissLimiter, type MissLimits } from '../miss-limiter.js'

export const USER_CODE_LIMITS: MissLimits = { misses: 10, windowMs: 15 * 60_000, maxKeys: 10_000 }

export class UserCodeGuard {
  readonly #byAddress: MissLimiter

  constructor(limits: MissLimits = USER_CODE_LIMITS) {
    this.#byAddress = new MissLimiter(limits)
  }

  /** Seconds until this address may look up a code again, or 0 when it may now. */
  retryAfter(address: string, now: number): number {
    return this.#byAddress.retryAfter(address, now)
  }

  /** Records a lookup that found nothing. */
  miss(address: string, now: number): void {
    this.#byAddress.miss(address, now)
  }
}

/** One guard per server, shared by the owner API and the console so both count against the same budget. */
const guards = new WeakMap<ServerContext, UserCodeGuard>()

export function userCodeGuardOf(ctx: ServerContext): UserCodeGuard {
  let guard = guards.get(ctx)
  if (!guard) guards.set(ctx, (guard = new UserCodeGuard()))
  return guard
}
