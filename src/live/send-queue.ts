/**
 * The LiveSocket's outgoing messages: a bounded queue in send order. A send
 * is settled exactly once: resolved when `ws` reports the frame written,
 * rejected with a clear error when it cannot be sent. A frame whose write
 * failed because its connection died goes back into the queue at its place,
 * for the next connection; nothing is dropped silently.
 *
 * Written means handed to the connection's socket, not received: a frame
 * written to a connection that dies before the server has read it is lost
 * although its send resolved. The protocol has no acknowledgements; an
 * application that must not lose a message matches replies of its own (the
 * echo ids, say) and sends again what went unanswered.
 */
import { CountersignError, ErrorCodes } from '../errors.js'

/** What `send()` takes: a string goes as a text frame, bytes as a binary frame. */
export type OutgoingData = string | ArrayBuffer | ArrayBufferView

interface Entry {
  seq: number
  data: OutgoingData
  resolve(): void
  reject(error: Error): void
}

/** Writes one frame; calls `done` once, with an error when it was not written. */
export type WriteFrame = (data: OutgoingData, done: (error?: Error) => void) => void

export class SendQueue {
  readonly #limit: number
  #seq = 0
  /** Waiting for a writable connection, in send order. */
  #waiting: Entry[] = []
  /** Handed to a connection, not yet reported written. */
  #inFlight = 0
  /** Set once nothing will be sent any more: later sends and failed writes are rejected with it. */
  #closedWith: (() => Error) | null = null

  readonly #requeued: () => void

  /** `requeued` is told when a failed write went back into the queue, so a writable connection can take it. */
  constructor(limit: number, requeued: () => void = () => {}) {
    this.#limit = limit
    this.#requeued = requeued
  }

  /** Sends not yet written: waiting and in flight. The limit bounds this number. */
  get size(): number {
    return this.#waiting.length + this.#inFlight
  }

  get waiting(): number {
    return this.#waiting.length
  }

  /** Queues a send; the promise settles when it is written or cannot be. */
  add(data: OutgoingData): Promise<void> {
    if (this.#closedWith) return Promise.reject(this.#closedWith())
    if (this.size >= this.#limit) {
      return Promise.reject(new CountersignError(ErrorCodes.QUEUE_FULL, `the send queue is full (${this.#limit} messages not yet written); wait for earlier sends or raise options.queueSize`))
    }
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ seq: this.#seq++, data, resolve, reject })
    })
  }

  /** Hands every waiting send, in order, to `write`. */
  flush(write: WriteFrame): void {
    const batch = this.#waiting
    this.#waiting = []
    for (const entry of batch) {
      this.#inFlight++
      let settled = false
      write(entry.data, (error) => {
        if (settled) return
        settled = true
        this.#inFlight--
        if (!error) return entry.resolve()
        if (this.#closedWith) return entry.reject(this.#closedWith())
        this.#requeue(entry)
        this.#requeued()
      })
    }
  }

  #requeue(entry: Entry): void {
    const at = this.#waiting.findIndex((other) => other.seq > entry.seq)
    if (at === -1) this.#waiting.push(entry)
    else this.#waiting.splice(at, 0, entry)
  }

  /**
   * Nothing will be sent any more: waiting sends are rejected now, sends in
   * flight when their write reports failure, later sends at once.
   */
  close(errorOf: () => Error): void {
    this.#closedWith ??= errorOf
    const waiting = this.#waiting
    this.#waiting = []
    for (const entry of waiting) entry.reject(this.#closedWith())
  }
}
