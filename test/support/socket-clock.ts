/**
 * A small simulated clock for the LiveSocket statechart tests: `sleep`
 * registers a wake-up at an absolute time, and time moves only when a test
 * moves it. Between two wake-ups every pending promise job runs, so the
 * effects one wake-up starts settle before the next fires.
 */

interface Sleeper {
  id: number
  until: number
  wake: (at: number) => void
}

/** Lets every pending promise job run (a few real macrotask turns). */
export async function flushJobs(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

export class SocketClock {
  #now: number
  #nextId = 1
  #sleepers: Sleeper[] = []

  constructor(start: number) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  /** Resolves with the time once the clock reaches `until`; rejects when `signal` aborts. */
  sleep(until: number, signal: AbortSignal): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const id = this.#nextId++
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((s) => s.id !== id)
        reject(new Error('the sleep was aborted'))
      }
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      this.#sleepers.push({
        id,
        until,
        wake: (at) => {
          signal.removeEventListener('abort', onAbort)
          resolve(at)
        },
      })
    })
  }

  /** Wake-up times of the sleeps still pending, earliest first. */
  get pending(): number[] {
    return this.#sleepers.map((s) => s.until).sort((a, b) => a - b)
  }

  async settle(): Promise<void> {
    await this.advanceTo(this.#now)
  }

  async advanceBy(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms)
  }

  /** Moves time to `target`, waking each sleeper due on the way at its own time (never earlier than now). */
  async advanceTo(target: number): Promise<void> {
    await flushJobs()
    for (;;) {
      const due = this.#sleepers.filter((s) => s.until <= target).sort((a, b) => a.until - b.until || a.id - b.id)[0]
      if (!due) break
      this.#sleepers = this.#sleepers.filter((s) => s !== due)
      this.#now = Math.max(this.#now, due.until)
      due.wake(this.#now)
      await flushJobs()
    }
    this.#now = Math.max(this.#now, target)
    await flushJobs()
  }
}
