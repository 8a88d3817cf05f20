/**
 * A clock that moves only when a test moves it. Timers fire in time order;
 * between two timers every pending promise job runs (a real `setImmediate`
 * turn), so the effects a timer starts settle before the next one fires.
 */
import type { Clock } from '../../src/clock.js'

interface Timer {
  id: number
  at: number
  fn: () => void
}

export class SimulatedClock implements Clock {
  #now: number
  #nextId = 1
  #timers: Timer[] = []

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.#nextId++
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle)
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.length
  }

  /** The time the next timer fires, or undefined. */
  get nextTimerAt(): number | undefined {
    return this.#timers.reduce<number | undefined>((min, t) => (min === undefined || t.at < min ? t.at : min), undefined)
  }

  /** Lets every pending promise job and already-due timer run, without moving time. */
  async settle(): Promise<void> {
    await this.advanceTo(this.#now)
  }

  async advanceBy(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms)
  }

  /** Moves time to `target`, firing each timer due on the way at its own time. */
  async advanceTo(target: number): Promise<void> {
    await flushJobs()
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!due) break
      this.#timers = this.#timers.filter((t) => t !== due)
      if (due.at > this.#now) this.#now = due.at
      due.fn()
      await flushJobs()
    }
    if (target > this.#now) this.#now = target
    await flushJobs()
  }
}

/** Runs pending promise jobs: a few macrotask turns, enough for chains of awaits to settle. */
export async function flushJobs(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}
