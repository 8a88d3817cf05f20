/**
 * LiveSocket: one WebSocket kept open and authenticated for as long as the
 * caller wants it, driven by the LiveSocket statechart (machines/socket.ts),
 * whose effects this file provides on `ws`:
 * - it connects with the current token in the Authorization header, and
 *   re-authenticates in band (protocol §5) when the token rotates;
 * - 4401 or a 401 upgrade: one refresh, then a new connection (the source
 *   is asked with 'expired' when the refusal was due to the token's expiry,
 *   see token-expiry.ts, else with 'unauthorized'); 4403: it
 *   stops and emits `revoked`; drops: full-jitter backoff, forever;
 * - a heartbeat pings and terminates a connection that stops answering;
 * - sends wait in a bounded queue while no connection is writable and go out
 *   in order; a send is never dropped silently (see send-queue.ts): it is
 *   written, or rejected. Written is not received: see send().
 *
 * Misuse: bad arguments of the constructor throw a TypeError naming them
 * at once (nothing has started); a bad argument of `send()`, which returns
 * a promise, rejects it with a TypeError naming it instead, so a sender
 * handles one channel for every failure of a send.
 *
 * Secrets: the token lives in a private field and in the statechart's child
 * actors' input; never log or persist the actor's snapshots.
 */
import { BehaviorSubject, Subject, distinctUntilChanged, type Observable } from 'rxjs'
import type { RawData, WebSocket, ClientOptions } from 'ws'
import { createActor, fromPromise, type Actor } from 'xstate'
import {
  CloseCodes,
  liveSocketMachine,
  liveSocketStatus,
  type ConnectInput,
  type ConnectOutput,
  type GetTokenInput,
  type GetTokenOutput,
  type LiveSocketEvent as LiveSocketMachineEvent,
  type LiveSocketStatus,
  type ReauthenticateInput,
  type ReauthenticateOutput,
  type SocketFailure,
  type SocketOutcome,
} from '../../machines/socket.js'
import { sleepUntil, systemClock, type Clock } from '../clock.js'
import { CountersignError, ErrorCodes } from '../errors.js'
import { isAuthSource, tokenGateOf, type TokenGate } from '../token-source.js'
import { refusalReason } from '../token-expiry.js'
import { openWebSocket, type HandshakeFailure } from './handshake.js'
import { decodeServerMessage, encodeAuth, type ServerMessage } from './messages.js'
import { SendQueue, type OutgoingData } from './send-queue.js'
import { checkedArguments, type LiveSocketEvent, type LiveSocketOptions, type LiveSocketTarget } from './socket-options.js'
import { Outbox, guardedStream, publicStream, warnSubscriberThrew } from './streams.js'
import { watchTokens, type TokenWatch } from './token-watch.js'

export type { LiveSocketStatus, SocketFailure, SocketOutcome } from '../../machines/socket.js'
export type { OutgoingData } from './send-queue.js'
export type { LiveSocketEvent, LiveSocketOptions, LiveSocketTarget, LiveSocketUrl } from './socket-options.js'

interface Connection {
  id: number
  ws: WebSocket
  gone: Promise<void>
  /** We sent its close frame (and started the grace after which it is terminated). */
  closing: boolean
  /** The in-band auth waiting for its `auth_ok`. */
  reauth: { resolve(exp: number): void; reject(failure: { message: string; closeCode?: number; at: number }): void } | null
}

/** One WebSocket kept open and authenticated until `close()`: see the module notes above. */
export class LiveSocket {
  readonly #url: string
  readonly #gate: TokenGate
  readonly #clock: Clock
  readonly #queue: SendQueue
  readonly #webSocket: ClientOptions | undefined
  readonly #closeGraceMs: number
  readonly #actor: Actor<typeof liveSocketMachine>
  readonly #watch: TokenWatch
  readonly #outbox = new Outbox()
  readonly #messages = new Subject<ServerMessage>()
  readonly #events = new Subject<LiveSocketEvent>()
  readonly #state: BehaviorSubject<LiveSocketStatus>
  readonly #closed: Promise<SocketOutcome>
  #resolveClosed!: (outcome: SocketOutcome) => void
  /** The open connection, from its 'open' until its 'close'. */
  #connection: Connection | null = null
  /** The token last taken and the gate's refresh count then: what a refusal refers to. */
  #held: { token: string; generation: number } | null = null
  #outcome: SocketOutcome | null = null
  /** A ping went out and no sign of life came since: the next one is told to the statechart (once, not per frame). */
  #pingOutstanding = false
  /** The connection sends may be written to now (the statechart's 'writable' tag), or null. */
  #writableConnection: number | null = null

  readonly messages$: Observable<ServerMessage>
  readonly events$: Observable<LiveSocketEvent>
  readonly state$: Observable<LiveSocketStatus>

  constructor(target: LiveSocketTarget, options: LiveSocketOptions = {}) {
    const { url, source, queueSize, checkEvery, closeGraceMs } = checkedArguments(target, options)
    this.#url = url
    this.#closeGraceMs = closeGraceMs
    this.#gate = tokenGateOf(source)
    this.#clock = options.clock ?? systemClock
    this.#queue = new SendQueue(queueSize, () => {
      if (this.#writableConnection !== null) this.#flush(this.#writableConnection)
    })
    this.#webSocket = options.webSocket
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve))

    const machine = liveSocketMachine.provide({
      actors: {
        getToken: fromPromise<GetTokenOutput, GetTokenInput>(({ input }) => this.#getToken(input)),
        connect: fromPromise<ConnectOutput, ConnectInput>(({ input, signal }) => this.#connect(input, signal)),
        reauthenticate: fromPromise<ReauthenticateOutput, ReauthenticateInput>(({ input, signal }) => this.#reauthenticate(input, signal)),
        sleepUntil: fromPromise<{ at: number }, { until: number }>(async ({ input, signal }) => ({ at: await sleepUntil(this.#clock, input.until, signal) })),
      },
      actions: {
        flushQueue: ({ context }) => this.#flush(context.connectionId),
        sendPing: ({ context }) =>
          this.#withConnection(context.connectionId, (ws) => {
            this.#pingOutstanding = true
            ws.ping()
          }),
        terminate: ({ context }) => this.#withConnection(context.connectionId, (ws) => ws.terminate(), true),
        closeConnection: ({ context }) => {
          if (this.#connection?.id === context.connectionId) this.#closeGracefully(this.#connection)
        },
        rejectQueue: ({ context }) => this.#queue.close(() => sendRefusal(context.outcome!)),
        emitRevoked: ({ context }) => this.#outbox.put(this.#events, { type: 'revoked', at: context.outcome!.at, failure: context.lastFailure! }),
      },
    })
    const settings = options.settings
    const jitterSeed = options.jitterSeed ?? Math.floor(Math.random() * 2 ** 31)
    this.#actor = createActor(machine, { input: { ...(settings ? { settings } : {}), jitterSeed } })
    this.#state = new BehaviorSubject<LiveSocketStatus>('idle')
    this.state$ = publicStream(this.#state.pipe(distinctUntilChanged()), warnSubscriberThrew)
    this.messages$ = guardedStream(this.#messages, warnSubscriberThrew)
    this.events$ = guardedStream(this.#events, warnSubscriberThrew)

    const auth = isAuthSource(target.auth) ? target.auth : null
    const changes = auth?.token$ ?? options.tokenChanges$ ?? null
    this.#watch = watchTokens({
      changes,
      pollEveryMs: changes === null && checkEvery !== false ? checkEvery : null,
      gate: this.#gate,
      clock: this.#clock,
      held: () => this.#held?.token ?? null,
      wanted: () => this.#connection !== null,
      rotated: () => this.#tell({ type: 'TOKEN_ROTATED' }),
    })

    let lastFailure: SocketFailure | null = null
    this.#actor.subscribe({
      next: (snapshot) => {
        const status = liveSocketStatus(snapshot)
        const failure = snapshot.context.lastFailure
        if (failure !== lastFailure && failure !== null && status !== 'closed') {
          this.#outbox.put(this.#events, { type: 'disconnected', failure, retryAt: status === 'backingOff' ? snapshot.context.retryAt : null })
        }
        lastFailure = failure
        this.#writableConnection = snapshot.hasTag('writable') ? snapshot.context.connectionId : null
        this.#state.next(status)
        if (snapshot.status === 'done') this.#finish(snapshot.output!)
      },
      error: (error) => this.#finish({ reason: 'closed', at: this.#clock.now(), failure: { kind: 'dropped', message: `the socket's statechart failed: ${String((error as Error)?.message ?? error)}`, at: this.#clock.now() } }),
    })
    this.#actor.start()
    this.#tell({ type: 'CONNECT', at: this.#clock.now() })
  }

  /** The current state, as state$ last emitted it. */
  get state(): LiveSocketStatus {
    return this.#state.value
  }

  /** Resolves once the socket has closed for good, with why (closed by you, revoked, refused, unauthenticated). */
  get closed(): Promise<SocketOutcome> {
    return this.#closed
  }

  /** Sends not yet written. */
  get pending(): number {
    return this.#queue.size
  }

  /**
   * Sends one frame (a string as text, bytes as binary). Resolves once `ws`
   * has written it to the connection: handed to the socket, not received by
   * the server (the protocol has no acknowledgements), so a frame written
   * just before the connection dies (a server that stops, a network drop)
   * can be lost although its send resolved; a frame whose write failed goes
   * out on the next connection. While no connection is writable it waits in
   * the queue and goes out in order. Rejects with QUEUE_FULL when the queue
   * is full, SOCKET_CLOSED or REVOKED once the socket has closed, and with a
   * TypeError naming `data` when it is neither a string nor bytes (never a
   * throw: every failure of a send is its promise's).
   */
  send(data: OutgoingData): Promise<void> {
    if (typeof data !== 'string' && !(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
      return Promise.reject(new TypeError('data must be a string, an ArrayBuffer or a typed array (encode objects first, e.g. with encodeEcho() or JSON.stringify())'))
    }
    const sent = this.#queue.add(data)
    if (this.#writableConnection !== null) this.#flush(this.#writableConnection)
    return sent
  }

  /**
   * Closes for good: the connection with 1000, queued sends rejected with
   * SOCKET_CLOSED. Resolves once the connection is gone: when the server has
   * answered the close frame, or after `closeGraceMs` (2 s) when it has not,
   * by terminating the connection.
   */
  async close(): Promise<void> {
    const connection = this.#connection
    if (this.#outcome === null) this.#actor.send({ type: 'CLOSE', at: this.#clock.now() })
    await connection?.gone
    await this.#closed
  }

  async #getToken({ reason }: GetTokenInput): Promise<GetTokenOutput> {
    const generation = this.#gate.generation
    const held = this.#held
    // After a refusal ('expired' or 'unauthorized'), one refresh per refused token, shared with the source's other clients.
    const token = reason === 'initial' || held === null ? await this.#gate.current(reason) : await this.#gate.afterRefusal(held.token, held.generation, reason)
    // After a refresh the count includes it, so a refusal of the new token refreshes again.
    this.#held = { token, generation: reason !== 'initial' ? this.#gate.generation : generation }
    this.#watch.took(token)
    return { token, at: this.#clock.now() }
  }

  async #connect({ token, connectionId }: ConnectInput, signal: AbortSignal): Promise<ConnectOutput> {
    const attach = (ws: WebSocket) => this.#adopt(ws, connectionId)
    try {
      await openWebSocket({ url: this.#url, token, signal, attach, now: () => this.#clock.now(), ...(this.#webSocket ? { webSocket: this.#webSocket } : {}) })
    } catch (error) {
      const failure = error as HandshakeFailure
      // A 401 due to the token's expiry asks the source with 'expired' (socket.policy connectionFailureOf).
      if (failure.status === 401 && refusalReason(token, failure.description, this.#clock.now()) === 'expired') throw { ...failure, expired: true }
      throw failure
    }
    const at = this.#clock.now()
    this.#outbox.put(this.#events, { type: 'open', connectionId, at })
    return { at }
  }

  /** Makes an open ws the current connection and listens to it. */
  #adopt(ws: WebSocket, connectionId: number): void {
    let ended!: () => void
    const connection: Connection = { id: connectionId, ws, gone: new Promise<void>((resolve) => (ended = resolve)), closing: false, reauth: null }
    this.#connection = connection
    ws.on('message', (data: RawData, isBinary: boolean) => this.#receive(connection, data, isBinary))
    ws.on('pong', () => this.#alive(connectionId))
    ws.once('close', (code: number, reasonBytes: Buffer) => {
      if (this.#connection === connection) this.#connection = null
      const at = this.#clock.now()
      const reason = reasonBytes.toString('utf8')
      // A 4401 due to the token's expiry (its words, or the held token's exp) asks the source with 'expired'.
      const expired = code === CloseCodes.TOKEN_INVALID && refusalReason(this.#held?.token ?? null, reason, at) === 'expired'
      connection.reauth?.reject({ message: `the connection closed with code ${code} before the server answered the in-band auth`, closeCode: code, ...(expired ? { expired } : {}), at })
      connection.reauth = null
      ended()
      this.#tell({ type: 'SOCKET_CLOSED', connectionId, code, reason, ...(expired ? { expired } : {}), at })
    })
  }

  #reauthenticate({ token, connectionId }: ReauthenticateInput, signal: AbortSignal): Promise<ReauthenticateOutput> {
    return new Promise<ReauthenticateOutput>((resolve, reject) => {
      const connection = this.#connection
      if (connection === null || connection.id !== connectionId) {
        reject({ message: 'the connection closed before the in-band auth could be sent', closeCode: 1006, at: this.#clock.now() })
        return
      }
      const settle = () => {
        connection.reauth = null
        signal.removeEventListener('abort', onAbort)
      }
      const onAbort = () => settle()
      connection.reauth = {
        resolve: (exp) => {
          settle()
          const at = this.#clock.now()
          this.#outbox.put(this.#events, { type: 'reauthenticated', connectionId, exp, at })
          resolve({ exp, at })
        },
        reject: (failure) => {
          settle()
          reject(failure)
        },
      }
      signal.addEventListener('abort', onAbort, { once: true })
      // Straight to the connection: the queue is held until the server has accepted the new token.
      connection.ws.send(encodeAuth(token), (error) => {
        if (error) connection.reauth?.reject({ message: `the in-band auth could not be written: ${error.message}`, at: this.#clock.now() })
      })
    })
  }

  #receive(connection: Connection, data: RawData, isBinary: boolean): void {
    // Any frame shows the connection is alive, as a pong would.
    if (this.#pingOutstanding) this.#alive(connection.id)
    let message: ServerMessage
    try {
      message = decodeServerMessage(data, isBinary)
    } catch (error) {
      this.#outbox.put(this.#events, { type: 'invalidMessage', error: error as CountersignError })
      return
    }
    if (message.kind === 'auth_ok') {
      connection.reauth?.resolve(message.exp)
      return
    }
    this.#outbox.put(this.#messages, message)
  }

  #alive(connectionId: number): void {
    this.#pingOutstanding = false
    this.#tell({ type: 'PONG', connectionId, at: this.#clock.now() })
  }

  /** Events of the connection after the socket has closed for good go nowhere. */
  #tell(event: LiveSocketMachineEvent): void {
    if (this.#outcome === null) this.#actor.send(event)
  }

  #flush(connectionId: number): void {
    const connection = this.#connection
    if (connection === null || connection.id !== connectionId) return
    // A connection already closing (its close frame came, its TCP connection failed) takes no frames: ws would fail
    // each write a tick later, and writing the requeued frame again at once would spin until its 'close' event.
    // They wait for the next connection.
    if (connection.ws.readyState !== connection.ws.OPEN) return
    this.#queue.flush((data, done) => connection.ws.send(data, done))
  }

  #withConnection(connectionId: number, act: (ws: WebSocket) => void, evenIfClosing = false): void {
    const connection = this.#connection
    if (connection === null || connection.id !== connectionId) return
    if (connection.ws.readyState === connection.ws.OPEN || evenIfClosing) act(connection.ws)
  }

  /**
   * Sends the close frame (1000) and gives the server `closeGraceMs` to
   * answer it; a server that does not is cut off with terminate(), so
   * close() never waits for ws's own 30 s close timeout.
   */
  #closeGracefully(connection: Connection): void {
    if (connection.closing) return
    connection.closing = true
    connection.ws.close(1000)
    const timer = this.#clock.setTimeout(() => connection.ws.terminate(), this.#closeGraceMs)
    ;(timer as { unref?: () => void } | null)?.unref?.()
    void connection.gone.then(() => this.#clock.clearTimeout(timer))
  }

  #finish(outcome: SocketOutcome): void {
    if (this.#outcome !== null) return
    this.#outcome = outcome
    this.#watch.stop()
    this.#queue.close(() => sendRefusal(outcome))
    // Closed by the caller, the connection is already closing with 1000; after a failure of the machine it must not stay open.
    const connection = this.#connection
    if (connection !== null && connection.ws.readyState === connection.ws.OPEN) this.#closeGracefully(connection)
    this.#outbox.put(this.#events, { type: 'closed', outcome })
    this.#resolveClosed(outcome)
    this.#outbox.end(this.#events)
    this.#outbox.end(this.#messages)
    this.#state.complete()
  }
}

/** The error a send gets once the socket has closed for good. */
function sendRefusal(outcome: SocketOutcome): CountersignError {
  if (outcome.reason === 'revoked') {
    return new CountersignError(ErrorCodes.REVOKED, 'the message was not sent: the server revoked the credentials of this socket (4403)')
  }
  const why =
    outcome.reason === 'closed'
      ? 'the socket was closed'
      : outcome.reason === 'unauthenticated'
        ? 'the socket closed because the token source has no session any more'
        : `the socket closed because the server refused the connection${outcome.failure ? ` (${outcome.failure.message})` : ''}`
  return new CountersignError(ErrorCodes.SOCKET_CLOSED, `the message was not sent: ${why}`)
}
