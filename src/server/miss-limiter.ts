/**
 * A budget of misses (wrong guesses, failed requests) per key within a
 * sliding window. Only misses count, so a key that keeps getting things right
 * is never slowed. Memory is bounded: at most `misses` times per key, and at
 * most `maxKeys` keys, the least recently missed forgotten first.
 */

export interface MissLimits {
  /** Misses allowed per key within the window. */
  misses: number
  windowMs: number
  /** Keys remembered at most; the least recently missed are forgotten first. */
  maxKeys: number
}

export class MissLimiter {
  readonly limits: MissLimits
  /** Times of recent misses by key, oldest first, at most `misses` of them. */
  readonly #misses = new Map<string, number[]>()

  constructor(limits: MissLimits) {
    if (!Number.isInteger(limits.misses) || limits.misses < 1) throw new TypeError('limits.misses must be a positive integer')
    this.limits = limits
  }

  /** Seconds until `key` may try again, or 0 when it may now. */
  retryAfter(key: string, now: number): number {
    const times = this.#recent(key, now)
    if (times.length < this.limits.misses) return 0
    return Math.max(1, Math.ceil((times[0]! + this.limits.windowMs - now) / 1000))
  }

  /** Records a miss by `key`. */
  miss(key: string, now: number): void {
    const times = this.#recent(key, now)
    times.push(now)
    if (times.length > this.limits.misses) times.splice(0, times.length - this.limits.misses)
    // Re-inserted so the map's order is least recently missed first.
    this.#misses.delete(key)
    this.#misses.set(key, times)
    // One key over: the least recently missed goes (its misses are the oldest, expired or not), in O(1).
    if (this.#misses.size > this.limits.maxKeys) this.#misses.delete(this.#misses.keys().next().value!)
  }

  #recent(key: string, now: number): number[] {
    const times = this.#misses.get(key)
    if (!times) return []
    const cutoff = now - this.limits.windowMs
    const firstLive = times.findIndex((time) => time > cutoff)
    if (firstLive === -1) {
      this.#misses.delete(key)
      return []
    }
    if (firstLive > 0) times.splice(0, firstLive)
    return times
  }
}
