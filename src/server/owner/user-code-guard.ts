/**
 * Brute-force protection for user codes. A user code has 20^8 (about 2.6e10)
 * values; with a few open requests at a time, an account allowed 10 wrong
 * guesses per 15 minutes would need millions of years to hit one. Wrong codes
 * are counted per signed-in owner account and per address, each with that
 * budget. An account over its budget is refused every lookup: it is the
 * guesser. An address over its budget is refused only the lookups that miss:
 * a code that names a request this owner may see is still answered, so one
 * guesser behind a shared address (a NAT, an office proxy) does not lock the
 * other owners there out of their own approvals, and a guesser there gains
 * nothing, since each of its wrong codes still counts against its account.
 * So that it cannot mint fresh accounts to go on, sign-up from an address
 * over its budget is refused until the address is back within it.
 */
import type { ServerContext } from '../context.js'
import { MissLimiter, type MissLimits } from '../miss-limiter.js'

export const USER_CODE_LIMITS: MissLimits = { misses: 10, windowMs: 15 * 60_000, maxKeys: 10_000 }

/** Who has used up the budget: the address the lookup came from, or the account it was made with. */
export type LimitedBy = 'address' | 'account'

export interface Limited {
  retryAfterSeconds: number
  by: LimitedBy
}

export class UserCodeGuard {
  readonly #byAddress: MissLimiter
  readonly #byOwner: MissLimiter

  constructor(limits: MissLimits = USER_CODE_LIMITS) {
    this.#byAddress = new MissLimiter(limits)
    this.#byOwner = new MissLimiter(limits)
  }

  /** How long until this account may look up a code again; null when it may now. */
  accountLimited(ownerId: string, now: number): Limited | null {
    const retryAfterSeconds = this.#byOwner.retryAfter(ownerId, now)
    return retryAfterSeconds === 0 ? null : { retryAfterSeconds, by: 'account' }
  }

  /** How long until a lookup from this address that misses is answered again; null when it is now. */
  addressLimited(address: string, now: number): Limited | null {
    const retryAfterSeconds = this.#byAddress.retryAfter(address, now)
    return retryAfterSeconds === 0 ? null : { retryAfterSeconds, by: 'address' }
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
