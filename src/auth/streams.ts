/**
 * The manager's streams (RxJS 7): `session$` (a BehaviorSubject of the
 * session's public state), `token$` (the current access token, distinct) and
 * `events$` (lifecycle events). They exist only once someone asks for them,
 * so an idle manager carries none.
 *
 * Values reach subscribers asynchronously (a microtask later), so nothing a
 * subscriber does runs inside a transition. A subscriber's own callback that
 * throws is caught, reported, and harms neither the runtime nor the other
 * subscribers; operator chains built on these streams keep RxJS's rules.
 */
import { BehaviorSubject, Observable, Subject, Subscriber, asapScheduler, observeOn, type Observer, type Subscription } from 'rxjs'
import type { AuthEmitted, AuthFailure } from '../../machines/auth.js'
import type { Session } from './session.js'
import type { AccessToken } from './tokens.js'

/** Lifecycle events: the machine's, and the runtime's own. None carries a secret. */
export type AuthLifecycleEvent =
  | AuthEmitted
  /** A stored session could not be restored as saved; the runtime fell back to the tokens it held. */
  | { type: 'restoreFailed'; failure: AuthFailure }
  /** A save to the session store failed (it is tried again with the next transition). */
  | { type: 'storeFailed'; failure: AuthFailure }

type Report = (error: unknown) => void

/** An Observable whose direct subscribers' callbacks cannot throw into RxJS. */
class GuardedObservable<T> extends Observable<T> {
  readonly #report: Report

  constructor(source: Observable<T>, report: Report) {
    super((subscriber) => source.subscribe(subscriber))
    this.#report = report
  }

  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null, error?: ((error: unknown) => void) | null, complete?: (() => void) | null): Subscription {
    // Operators subscribe with a Subscriber of their own: it must stay the one that is torn down.
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext)
    const observer: Partial<Observer<T>> =
      typeof observerOrNext === 'function' || observerOrNext == null
        ? { next: observerOrNext ?? undefined, error: error ?? undefined, complete: complete ?? undefined }
        : observerOrNext
    const report = this.#report
    return super.subscribe({
      next(value) {
        try {
          observer.next?.(value)
        } catch (thrown) {
          report(thrown)
        }
      },
      error(failure) {
        try {
          observer.error?.(failure)
        } catch (thrown) {
          report(thrown)
        }
      },
      complete() {
        try {
          observer.complete?.()
        } catch (thrown) {
          report(thrown)
        }
      },
    })
  }
}

export class RuntimeStreams {
  readonly #report: Report
  #session: BehaviorSubject<Session> | null = null
  #token: BehaviorSubject<AccessToken | null> | null = null
  #events: Subject<AuthLifecycleEvent> | null = null
  #session$: Observable<Session> | null = null
  #token$: Observable<AccessToken | null> | null = null
  #events$: Observable<AuthLifecycleEvent> | null = null

  constructor(report: Report) {
    this.#report = report
  }

  session$(current: () => Session): Observable<Session> {
    this.#session ??= new BehaviorSubject(current())
    return (this.#session$ ??= this.#guard(this.#session))
  }

  token$(current: () => AccessToken | null): Observable<AccessToken | null> {
    this.#token ??= new BehaviorSubject(current())
    return (this.#token$ ??= this.#guard(this.#token))
  }

  get events$(): Observable<AuthLifecycleEvent> {
    this.#events ??= new Subject()
    return (this.#events$ ??= this.#guard(this.#events))
  }

  /** Whether anyone asked for session$, so the runtime computes the view only then. */
  get wantsSession(): boolean {
    return this.#session !== null
  }

  /** Emits only when something a subscriber can see changed. */
  publishSession(session: Session): void {
    const subject = this.#session
    if (subject === null || sameSession(subject.value, session)) return
    subject.next(session)
  }

  /** Emits only when the access token changed. */
  publishToken(token: AccessToken | null): void {
    const subject = this.#token
    if (subject === null || subject.value?.accessToken === token?.accessToken) return
    subject.next(token)
  }

  publishEvent(event: AuthLifecycleEvent): void {
    this.#events?.next(event)
  }

  complete(): void {
    this.#session?.complete()
    this.#token?.complete()
    this.#events?.complete()
  }

  #guard<T>(subject: Subject<T>): Observable<T> {
    return new GuardedObservable(subject.pipe(observeOn(asapScheduler)), this.#report)
  }
}

function sameSession(a: Session, b: Session): boolean {
  return (
    a.state === b.state &&
    a.agentId === b.agentId &&
    a.scope === b.scope &&
    a.accessExpiresAt === b.accessExpiresAt &&
    a.refreshExpiresAt === b.refreshExpiresAt &&
    a.refreshAt === b.refreshAt &&
    a.approval?.userCode === b.approval?.userCode &&
    a.failure?.code === b.failure?.code &&
    a.failure?.message === b.failure?.message
  )
}
