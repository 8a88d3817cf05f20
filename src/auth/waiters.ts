/**
 * Callers waiting for the runtime to reach some condition. Each condition is
 * checked after every change; a check that throws rejects its waiter.
 */
interface Waiter {
  check(): boolean
  resolve(): void
  reject(error: unknown): void
}

export class Waiters {
  #waiting: Waiter[] | null = null

  /** Resolves when `check()` holds; at once when it already does. */
  wait(check: () => boolean): Promise<void> {
    try {
      if (check()) return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise<void>((resolve, reject) => {
      ;(this.#waiting ??= []).push({ check, resolve, reject })
    })
  }

  /** Checks every waiter; those whose condition holds are resolved. */
  changed(): void {
    const waiting = this.#waiting
    if (waiting === null) return
    this.#waiting = null
    const still: Waiter[] = []
    for (const waiter of waiting) {
      try {
        if (waiter.check()) waiter.resolve()
        else still.push(waiter)
      } catch (error) {
        waiter.reject(error)
      }
    }
    // A resolution may have added waiters meanwhile: keep both.
    if (still.length > 0) this.#waiting = [...still, ...(this.#waiting ?? [])]
  }

  rejectAll(error: () => unknown): void {
    const waiting = this.#waiting ?? []
    this.#waiting = null
    for (const waiter of waiting) waiter.reject(error())
  }
}
