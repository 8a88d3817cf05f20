/**
 * A clock reading that tokenProvider()'s hot path may reuse for a short
 * while. Reading the wall clock costs more than the rest of a cached
 * tokenProvider() call together (30-140 ns on the VMs we measured, against
 * a few ns for a field read), so the precise path reads the clock and leaves
 * the reading here, and the hot path compares against it.
 *
 * A reading is trusted for `trustMs` of timer time at most: a timer then
 * marks it stale (+Infinity, against which no token is fresh), and the next
 * call takes the precise path and reads the clock again. Node's timers run
 * on the monotonic clock, so after the machine was suspended the stale mark
 * comes within `trustMs` of waking up, however long the suspension was; a
 * token counts as hot only until `trustMs` before it expires, so a reading
 * that old never hands out an expired token while the process runs. The
 * timer is unref'd: it never keeps a process alive.
 */
import type { Clock } from '../clock.js'

export class RecentTime {
  /** The last reading (epoch ms), or +Infinity once it is stale. */
  value = Number.POSITIVE_INFINITY
  readonly trustMs: number
  readonly #clock: Clock
  /** When the timer that marks the reading stale was set, or null when none is. */
  #armedAt: number | null = null

  constructor(clock: Clock, trustMs: number) {
    this.#clock = clock
    this.trustMs = trustMs
  }

  /** Reads the clock, keeps the reading and returns it. */
  read(): number {
    const now = this.#clock.now()
    this.value = now
    // Armed at the first of several readings, so each stays trusted for trustMs at most. A timer
    // that should have fired by now was lost (fake timers uninstalled under it): set another.
    // Only a call on the precise path gets here: until one does (the next token set, at the
    // latest), a reading whose timer was lost keeps serving the hot path. Real timers are not lost.
    if (this.#armedAt === null || now - this.#armedAt > 2 * this.trustMs) {
      this.#armedAt = now
      const handle = this.#clock.setTimeout(() => this.#stale(now), this.trustMs) as { unref?: () => void } | undefined
      handle?.unref?.()
    }
    return now
  }

  #stale(armedAt: number): void {
    // Only the timer of the current arming ends the trust; one replaced as lost does nothing.
    if (this.#armedAt !== armedAt) return
    this.#armedAt = null
    this.value = Number.POSITIVE_INFINITY
  }
}
