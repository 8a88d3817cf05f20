/**
 * The listeners of one store. Changes reach them asynchronously and in order;
 * a listener that throws is reported as a process warning and harms neither
 * the store nor the other listeners.
 */
import type { SessionChange, SessionChangeListener } from './contract.js'

export class ChangeFeed {
  readonly #listeners = new Set<SessionChangeListener>()

  get size(): number {
    return this.#listeners.size
  }

  add(listener: SessionChangeListener): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function')
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const subscription: SessionChangeListener = (change) => listener(change)
    this.#listeners.add(subscription)
    return () => {
      this.#listeners.delete(subscription)
    }
  }

  emit(change: SessionChange): void {
    for (const listener of this.#listeners) {
      queueMicrotask(() => {
        if (!this.#listeners.has(listener)) return
        try {
          listener(change)
        } catch (error) {
          reportListenerError(error)
        }
      })
    }
  }

  clear(): void {
    this.#listeners.clear()
  }
}

/** Names the failure without its message, which may quote data the listener held. */
export function reportListenerError(error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error
  process.emitWarning(`a session change listener threw (${name}); the store carried on`, { type: 'CountersignWarning', code: 'COUNTERSIGN_LISTENER_ERROR' })
}
