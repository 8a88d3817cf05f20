/**
 * The LiveSocket's Observables, with the runtime's stream rules
 * (architecture.md, Streams): values reach subscribers asynchronously (a
 * microtask later, in order), so nothing a subscriber does runs inside the
 * socket's own handling; and a subscriber whose callback throws is reported
 * and skipped, instead of RxJS rethrowing it where it would kill the process.
 */
import { Observable, Subscriber, asapScheduler, observeOn, type Observer, type Subscription } from 'rxjs'

export type Report = (error: unknown) => void

class GuardedObservable<T> extends Observable<T> {
  readonly #report: Report

  constructor(source: Observable<T>, report: Report) {
    super((subscriber) => source.subscribe(subscriber))
    this.#report = report
  }

  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null): Subscription {
    // An operator subscribes with a Subscriber of its own, which must stay the one torn down.
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext)
    const observer: Partial<Observer<T>> = typeof observerOrNext === 'function' || observerOrNext == null ? { next: observerOrNext ?? undefined } : observerOrNext
    const guard = <A extends unknown[]>(callback: ((...args: A) => void) | undefined) => (...args: A) => {
      try {
        callback?.(...args)
      } catch (thrown) {
        this.#report(thrown)
      }
    }
    return super.subscribe({ next: guard(observer.next?.bind(observer)), error: guard(observer.error?.bind(observer)), complete: guard(observer.complete?.bind(observer)) })
  }
}

/** A source as a public stream: delivered a microtask later, subscribers' throws reported. */
export function publicStream<T>(source: Observable<T>, report: Report): Observable<T> {
  return new GuardedObservable(source.pipe(observeOn(asapScheduler)), report)
}

/** A source whose values are already delivered a microtask later (through an Outbox): only guarded. */
export function guardedStream<T>(source: Observable<T>, report: Report): Observable<T> {
  return new GuardedObservable(source, report)
}

/**
 * Values for several subjects, delivered together a microtask later in the
 * order they were put in. One microtask per burst of frames instead of one
 * scheduled action per value: on a busy socket that is most of the cost of
 * asynchronous delivery.
 */
export class Outbox {
  #pending: Array<() => void> = []
  #scheduled = false

  put<T>(subject: { next(value: T): void }, value: T): void {
    this.#enqueue(() => subject.next(value))
  }

  end(subject: { complete(): void }): void {
    this.#enqueue(() => subject.complete())
  }

  #enqueue(delivery: () => void): void {
    this.#pending.push(delivery)
    if (this.#scheduled) return
    this.#scheduled = true
    queueMicrotask(() => this.#drain())
  }

  #drain(): void {
    // Values put while draining (a subscriber that sends, say) go in this same turn, after the others.
    for (let i = 0; i < this.#pending.length; i++) this.#pending[i]!()
    this.#pending = []
    this.#scheduled = false
  }
}

/** The default report: a process warning naming the kind of error only (a message could quote a secret). */
export function warnSubscriberThrew(error: unknown): void {
  const kind = error instanceof Error ? error.name : typeof error
  process.emitWarning(`a LiveSocket stream subscriber threw (${kind}); the socket carried on`, { type: 'CountersignWarning', code: 'COUNTERSIGN_LIVE' })
}
