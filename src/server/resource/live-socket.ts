/**
 * Open `/ws` connections (protocol §5): each lives as long as its access
 * token, is renewed in band with a rotated token of the same agent, and is
 * closed at once when its token family is revoked.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket } from 'ws'
import type { ServerContext } from '../context.js'
import { checkToken, type Granted } from './access.js'
import { CloseCodes, authOkMessage, closeReason, errorMessage, parseClientMessage } from './live-messages.js'

/** Node timers overflow above 2^31 - 1 ms; a longer lifetime is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1
/** How long a closing socket may take to finish the close handshake when the server stops. */
const CLOSE_GRACE_MS = 1000
/**
 * Bounds of one connection's messages received and not yet answered: past either, the connection is closed with
 * 1008 and what it sent after is dropped, so one client that sends without reading cannot hold the server busy
 * or make its memory grow. A client that waits for answers never has more than a few in flight.
 */
export const MAX_PENDING_MESSAGES = 1_000
export const MAX_PENDING_BYTES = 1024 * 1024

export class LiveConnections {
  readonly #ctx: ServerContext
  readonly #log: FastifyBaseLogger
  readonly #all = new Set<LiveConnection>()
  readonly #byFamily = new Map<string, Set<LiveConnection>>()

  constructor(ctx: ServerContext, log: FastifyBaseLogger) {
    this.#ctx = ctx
    this.#log = log
  }

  get size(): number {
    return this.#all.size
  }

  accept(socket: WebSocket, granted: Granted): void {
    const connection = new LiveConnection(this.#ctx, this.#log, socket, granted, this)
    this.#all.add(connection)
    this.follow(connection, granted.family.id)
    // The family may have been revoked between the upgrade's check and now.
    if (!this.#ctx.tokens.isFamilyLive(granted.family.id)) connection.close(CloseCodes.FORBIDDEN, 'the token family was revoked')
  }

  /** Files the connection under the family its current token belongs to. */
  follow(connection: LiveConnection, familyId: string, previous?: string): void {
    if (previous !== undefined) this.#unfollow(connection, previous)
    let set = this.#byFamily.get(familyId)
    if (!set) this.#byFamily.set(familyId, (set = new Set()))
    set.add(connection)
  }

  #unfollow(connection: LiveConnection, familyId: string): void {
    const set = this.#byFamily.get(familyId)
    if (!set) return
    set.delete(connection)
    if (set.size === 0) this.#byFamily.delete(familyId)
  }

  forget(connection: LiveConnection): void {
    this.#all.delete(connection)
    this.#unfollow(connection, connection.familyId)
  }

  familyRevoked(familyId: string): void {
    for (const connection of [...(this.#byFamily.get(familyId) ?? [])]) {
      connection.close(CloseCodes.FORBIDDEN, 'the token family was revoked')
    }
  }

  /** Server shutdown: a close frame first, then the socket is cut if the peer does not answer. */
  closeAll(): void {
    for (const connection of [...this.#all]) connection.shutdown()
  }
}

export class LiveConnection {
  readonly #ctx: ServerContext
  readonly #log: FastifyBaseLogger
  readonly #socket: WebSocket
  readonly #registry: LiveConnections
  #agentId: string
  #familyId: string
  #jti: string
  /** When the current token expires, epoch ms. */
  #expiresAt: number
  #expiryTimer: ReturnType<typeof setTimeout> | undefined
  /** Messages are handled one at a time, so answers keep the order of the questions. */
  #queue: Promise<void> = Promise.resolve()
  #pendingMessages = 0
  #pendingBytes = 0
  #closed = false

  constructor(ctx: ServerContext, log: FastifyBaseLogger, socket: WebSocket, granted: Granted, registry: LiveConnections) {
    this.#ctx = ctx
    this.#log = log
    this.#socket = socket
    this.#registry = registry
    this.#agentId = granted.agent.id
    this.#familyId = granted.family.id
    this.#jti = granted.claims.jti
    this.#expiresAt = granted.claims.exp * 1000
    socket.on('message', (data, isBinary) => this.#receive(data, isBinary))
    socket.on('close', () => this.#ended())
    // @fastify/websocket logs and terminates on errors; this listener only keeps the bookkeeping right.
    socket.on('error', () => this.#ended())
    this.#scheduleExpiry()
  }

  get familyId(): string {
    return this.#familyId
  }

  close(code: number, reason: string): void {
    if (this.#closed) return
    this.#closed = true
    this.#clearExpiry()
    this.#socket.close(code, closeReason(reason))
  }

  shutdown(): void {
    this.close(CloseCodes.GOING_AWAY, 'the server is shutting down')
    setTimeout(() => this.#socket.terminate(), CLOSE_GRACE_MS).unref()
  }

  #ended(): void {
    this.#closed = true
    this.#clearExpiry()
    this.#registry.forget(this)
  }

  #clearExpiry(): void {
    if (this.#expiryTimer !== undefined) clearTimeout(this.#expiryTimer)
    this.#expiryTimer = undefined
  }

  #scheduleExpiry(): void {
    this.#clearExpiry()
    const left = this.#expiresAt - this.#ctx.now()
    if (left <= 0) {
      this.close(CloseCodes.UNAUTHORIZED, 'the access token expired; send {"type":"auth"} with a new token before it does')
      return
    }
    // Re-checked when it fires: the server's clock is injectable and may not follow the timer's.
    this.#expiryTimer = setTimeout(() => this.#scheduleExpiry(), Math.min(left, MAX_TIMER_MS))
    this.#expiryTimer.unref()
  }

  #receive(data: unknown, isBinary: boolean): void {
    if (this.#closed) return
    if (isBinary) {
      this.close(CloseCodes.UNSUPPORTED_DATA, 'this endpoint accepts JSON text messages only')
      return
    }
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8')
    if (this.#pendingMessages + 1 > MAX_PENDING_MESSAGES || this.#pendingBytes + text.length > MAX_PENDING_BYTES) {
      this.close(CloseCodes.POLICY_VIOLATION, `too many messages wait for an answer (at most ${MAX_PENDING_MESSAGES} or ${MAX_PENDING_BYTES} bytes); read the answers before sending more`)
      // The peer may go on sending while the close handshake runs: nothing more of it is read.
      setTimeout(() => this.#socket.terminate(), CLOSE_GRACE_MS).unref()
      return
    }
    this.#pendingMessages++
    this.#pendingBytes += text.length
    this.#queue = this.#queue
      .then(() => this.#handle(text))
      .catch((error: unknown) => {
        // The server's own fault: logged here, and the client only learns that the connection ended.
        this.#log.error({ err: error }, 'a /ws message could not be handled')
        this.close(CloseCodes.INTERNAL_ERROR, 'the server failed to handle a message')
      })
      .finally(() => {
        this.#pendingMessages--
        this.#pendingBytes -= text.length
      })
  }

  async #handle(text: string): Promise<void> {
    if (this.#closed) return
    if (!this.#ctx.tokens.isFamilyLive(this.#familyId)) return this.close(CloseCodes.FORBIDDEN, 'the token family was revoked')
    if (this.#ctx.db.revokedJtis.has(this.#jti)) return this.close(CloseCodes.UNAUTHORIZED, 'the access token was revoked')
    const parsed = parseClientMessage(text)
    if (!parsed.ok) return this.#send(errorMessage(parsed.description, parsed.id))
    const { message } = parsed
    if (message.type === 'echo') return this.#send(JSON.stringify(message.message))
    await this.#reauthenticate(message.token)
  }

  async #reauthenticate(token: string): Promise<void> {
    const decision = await checkToken(this.#ctx, token)
    if (this.#closed) return
    if (!decision.ok) {
      const code = decision.refusal.status === 403 ? CloseCodes.FORBIDDEN : CloseCodes.UNAUTHORIZED
      return this.close(code, decision.refusal.body.error_description)
    }
    const { granted } = decision
    if (granted.agent.id !== this.#agentId) return this.close(CloseCodes.UNAUTHORIZED, 'the token belongs to another agent than this connection')
    const previousFamily = this.#familyId
    this.#familyId = granted.family.id
    this.#jti = granted.claims.jti
    this.#expiresAt = granted.claims.exp * 1000
    if (previousFamily !== this.#familyId) this.#registry.follow(this, this.#familyId, previousFamily)
    this.#scheduleExpiry()
    this.#send(authOkMessage(granted.claims.exp))
  }

  #send(text: string): void {
    if (this.#closed || this.#socket.readyState !== this.#socket.OPEN) return
    this.#socket.send(text)
  }
}
