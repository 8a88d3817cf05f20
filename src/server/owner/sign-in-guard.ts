/**
 * Brute-force protection for owner sign-in. Failures are counted per account
 * (the email as typed, whether or not it names an owner, so the answer says
 * nothing about which accounts exist) and per client address:
 * - an account allows `freeFailures` wrong passwords; after that each further
 *   attempt waits twice as long as the one before (1 s, 2 s, 4 s, ... up to
 *   `maxDelayMs`), counted from the latest failure, whatever address it comes
 *   from, and refused with 429 meanwhile. A success, or `forgetMs` without a
 *   failure, clears it.
 * - an address allows `addressFailures` failures per `addressWindowMs`, over
 *   all the accounts it tried. Over that, the password is still checked: the
 *   correct one of an account that is not waiting signs in, a wrong one gets
 *   429 (and still counts against its account). One guesser behind a shared
 *   address does not lock the other owners there out, and gains nothing.
 * Memory is bounded: at most `maxKeys` accounts and addresses are remembered.
 */
import { MissLimiter } from '../miss-limiter.js'

export interface SignInLimits {
  freeFailures: number
  maxDelayMs: number
  forgetMs: number
  addressFailures: number
  addressWindowMs: number
  maxKeys: number
}

/** The defaults but the address budget, which is the server's `rateLimit` per minute. */
export const SIGN_IN_LIMITS: Omit<SignInLimits, 'addressFailures'> = { freeFailures: 5, maxDelayMs: 15 * 60_000, forgetMs: 24 * 3600_000, addressWindowMs: 60_000, maxKeys: 10_000 }

interface AccountFailures {
  count: number
  lastAt: number
}

export class SignInGuard {
  readonly limits: SignInLimits
  readonly #accounts = new Map<string, AccountFailures>()
  readonly #byAddress: MissLimiter

  constructor(limits: SignInLimits) {
    this.limits = limits
    this.#byAddress = new MissLimiter({ misses: limits.addressFailures, windowMs: limits.addressWindowMs, maxKeys: limits.maxKeys })
  }

  /** Seconds until this account may be tried again, or 0 when it may now. */
  accountWait(email: string, now: number): number {
    const failures = this.#current(email, now)
    if (!failures || failures.count < this.limits.freeFailures) return 0
    const delay = Math.min(this.limits.maxDelayMs, 1000 * 2 ** (failures.count - this.limits.freeFailures))
    const left = failures.lastAt + delay - now
    return left > 0 ? Math.ceil(left / 1000) : 0
  }

  /** Seconds until a wrong password from this address is answered as such again, or 0. */
  addressWait(address: string, now: number): number {
    return this.#byAddress.retryAfter(address, now)
  }

  failed(email: string, address: string, now: number): void {
    const key = email.toLowerCase()
    const failures = this.#current(email, now) ?? { count: 0, lastAt: now }
    failures.count++
    failures.lastAt = now
    this.#accounts.delete(key)
    this.#accounts.set(key, failures)
    if (this.#accounts.size > this.limits.maxKeys) this.#accounts.delete(this.#accounts.keys().next().value!)
    this.#byAddress.miss(address, now)
  }

  succeeded(email: string): void {
    this.#accounts.delete(email.toLowerCase())
  }

  #current(email: string, now: number): AccountFailures | undefined {
    const key = email.toLowerCase()
    const failures = this.#accounts.get(key)
    if (failures && now - failures.lastAt > this.limits.forgetMs) {
      this.#accounts.delete(key)
      return undefined
    }
    return failures
  }
}
