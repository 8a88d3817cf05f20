/**
 * Test support: the system clock moved forward by a settable amount. The
 * server keeps real time; the agent believes it is later, so a token can be
 * made "about to expire" for the agent without waiting an hour.
 */
import type { Clock } from '../../../src/clock.js'

export class ShiftedClock implements Clock {
  shiftMs = 0

  now(): number {
    return Date.now() + this.shiftMs
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return setTimeout(fn, ms)
  }

  clearTimeout(handle: unknown): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  }
}
