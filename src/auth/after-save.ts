/**
 * A transition is saved before its result is published. The auth actor
 * reports each new snapshot, and the runtime asks the save queue for a write
 * covering it; what the transition into that snapshot produced (emitted
 * events, flow outcomes, the session view) is held here, in order, until
 * that write has settled, and only then published.
 *
 * A write that fails settles too: the store's error has been reported by
 * then, and each held result learns of the failure, so nothing waits forever
 * on a store that does not answer yes.
 */

/** Why the write covering a result did not succeed; null when it did. */
export type SaveFailure = { readonly error: unknown } | null

type Publish = (failure: SaveFailure) => void

interface Held {
  readonly through: number
  readonly publish: Publish
}

export class AfterSave {
  /** Numbers the snapshots seen; a result waits for the write of its snapshot's number. */
  #snapshots = 0
  /** Every snapshot up to this number has had its write settle. */
  #settled = 0
  #unplaced: Publish[] = []
  #held: Held[] = []
  /** Results ever held, and ever published (or dropped): a wait for what is held now ends when the second reaches the first. */
  #heldTotal = 0
  #releasedTotal = 0
  #drained: Array<{ readonly through: number; readonly resolve: () => void }> = []
  readonly #afterRelease: () => void

  /** @param afterRelease runs after each batch of published results (callers waiting on them check again) */
  constructor(afterRelease: () => void) {
    this.#afterRelease = afterRelease
  }

  /** Holds a result of the transition under way; `place()` says which write it waits for. */
  hold(publish: Publish): void {
    this.#heldTotal++
    this.#unplaced.push(publish)
  }

  /**
   * The transition's snapshot is known: with `saved` (the write covering a
   * new snapshot), its results wait for that write; without, for the writes
   * already asked for (the snapshot did not change, or needs no save).
   */
  place(saved: Promise<void> | null): void {
    if (saved !== null) {
      const through = ++this.#snapshots
      saved.then(
        () => this.#settle(through, null),
        (error: unknown) => this.#settle(through, { error }),
      )
    }
    if (this.#unplaced.length > 0) {
      for (const publish of this.#unplaced) this.#held.push({ through: this.#snapshots, publish })
      this.#unplaced = []
    }
    if (saved === null) this.#release(null)
  }

  /**
   * Resolves once every result held so far is published (at once when none
   * is). Results held later are not waited for: a session that keeps
   * transitioning (polling) would otherwise never let the wait end.
   */
  whenDrained(): Promise<void> {
    const through = this.#heldTotal
    if (this.#releasedTotal >= through) return Promise.resolve()
    return new Promise((resolve) => this.#drained.push({ through, resolve }))
  }

  /** Drops what is held (the manager is disposed): nothing more is published, and whoever waits for it stops waiting. */
  abandon(): void {
    this.#held = []
    this.#unplaced = []
    this.#releasedTotal = this.#heldTotal
    const drained = this.#drained
    this.#drained = []
    for (const { resolve } of drained) resolve()
  }

  /** Publishes after everything held before it. */
  inOrder(publish: Publish): void {
    this.hold(publish)
    this.place(null)
  }

  #settle(through: number, failure: SaveFailure): void {
    if (through > this.#settled) this.#settled = through
    this.#release(failure)
  }

  #release(failure: SaveFailure): void {
    let count = 0
    while (count < this.#held.length && this.#held[count]!.through <= this.#settled) count++
    if (count === 0) return
    const due = this.#held.splice(0, count)
    for (const { publish } of due) publish(failure)
    this.#releasedTotal += count
    this.#afterRelease()
    if (this.#drained.length > 0) {
      const done = this.#drained.filter((wait) => wait.through <= this.#releasedTotal)
      this.#drained = this.#drained.filter((wait) => wait.through > this.#releasedTotal)
      for (const { resolve } of done) resolve()
    }
  }
}
