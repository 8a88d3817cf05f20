/**
 * One timer at an absolute time on a Clock. Node's timers overflow past
 * about 24.8 days, and a clock may fire early (a simulated one, or a system
 * clock set back), so the alarm checks the time when it fires and waits
 * again for what is left.
 */
import type { Clock } from '../clock.js'

const MAX_TIMER_MS = 2 ** 31 - 1

export class Alarm {
  readonly #clock: Clock
  readonly #ring: () => void
  #handle: unknown = undefined
  #at: number | null = null

  constructor(clock: Clock, ring: () => void) {
    this.#clock = clock
    this.#ring = ring
  }

  /** Rings once at `at` (epoch ms); null sets nothing. Replaces any earlier setting. */
  set(at: number | null): void {
    this.clear()
    this.#at = at
    if (at === null) return
    this.#handle = this.#clock.setTimeout(() => this.#fired(), Math.max(0, Math.min(at - this.#clock.now(), MAX_TIMER_MS)))
  }

  clear(): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle)
    this.#handle = undefined
    this.#at = null
  }

  #fired(): void {
    this.#handle = undefined
    const at = this.#at
    if (at !== null && this.#clock.now() < at) return this.set(at)
    this.#at = null
    this.#ring()
  }
}
