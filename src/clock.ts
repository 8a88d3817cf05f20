/**
 * Time as an injectable dependency. Everything in countersign that needs the
 * time or a wait takes a Clock, so tests move a simulated clock instead of
 * sleeping. The shape is a superset of XState's `Clock`, so one object can be
 * handed both to our effects and to `createActor(machine, { clock })`.
 */
import { AbortError } from './errors.js'

/** Time and timers, injectable so that tests move a simulated clock. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number
  /** Calls `fn` once `ms` have passed; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown
  /** Cancels a timer set with setTimeout. */
  clearTimeout(handle: unknown): void
}

/** The real clock. Timers are not unref'd: a pending wait keeps the process alive until disposed. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** Node's timers overflow above 2^31 - 1 ms (about 24.8 days) and fire at once; longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Resolves with the clock's time once it has reached `until` (absolute epoch
 * ms). A time already past resolves on the next turn. Because the target is
 * absolute, a wait restored after a restart sleeps only for what is left.
 * Rejects with AbortError when `signal` aborts.
 */
export function sleepUntil(clock: Clock, until: number, signal?: AbortSignal): Promise<number> {
  if (typeof until !== 'number' || Number.isNaN(until)) throw new TypeError('until must be a number (epoch milliseconds)')
  return new Promise<number>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError('the wait was aborted', { cause: signal.reason }))
      return
    }
    let handle: unknown
    const onAbort = () => {
      clock.clearTimeout(handle)
      reject(new AbortError('the wait was aborted', { cause: signal?.reason }))
    }
    const check = () => {
      const now = clock.now()
      if (now >= until) {
        signal?.removeEventListener('abort', onAbort)
        resolve(now)
        return
      }
      handle = clock.setTimeout(check, Math.min(until - now, MAX_TIMER_MS))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    // A past deadline still yields once, so callers never resolve synchronously inside a transition.
    handle = clock.setTimeout(check, Math.max(0, Math.min(until - clock.now(), MAX_TIMER_MS)))
  })
}
