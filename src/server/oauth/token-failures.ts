/**
 * Protocol §7 for the token endpoint: failed token requests are limited per
 * client address. Only failures count (an unknown, used or malformed device
 * code or refresh token, a bad client id or grant type, a malformed body), so
 * a fleet of agents refreshing from one address is never slowed, and polling
 * stays paced by `slow_down`, not 429. An address over its budget is answered
 * 429 to every token request, without the request being looked at, until
 * Retry-After: answering a guess that happens to be right would let guessing
 * go on at full speed.
 */
import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify'
import type { ServerContext } from '../context.js'
import { MissLimiter } from '../miss-limiter.js'
import { OAuthFailure, sendFailure } from './failure.js'

/** The answers of protocol §3.1 about a device code the server knows: the client is doing its job, not failing. */
const POLLING_ANSWERS = new Set(['authorization_pending', 'slow_down', 'access_denied', 'expired_token'])

export const TOKEN_FAILURE_WINDOW_MS = 60_000

export class TokenFailureLimit {
  readonly #ctx: ServerContext
  readonly #limiter: MissLimiter
  readonly #notFailures = new WeakSet<FastifyRequest>()

  constructor(ctx: ServerContext) {
    this.#ctx = ctx
    this.#limiter = new MissLimiter({ misses: ctx.options.rateLimit, windowMs: TOKEN_FAILURE_WINDOW_MS, maxKeys: 10_000 })
  }

  /** Marks a request answered with a refusal that is not a failure (a polling answer). */
  answered(request: FastifyRequest, failure: OAuthFailure): void {
    if (POLLING_ANSWERS.has(failure.error)) this.#notFailures.add(request)
  }

  /** Route hooks: refuse an address over its budget before anything is read; count failures once answered. */
  hooks(): Pick<RouteShorthandOptions, 'onRequest' | 'onResponse'> {
    return {
      onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
        const retryAfter = this.#limiter.retryAfter(request.ip, this.#ctx.now())
        if (retryAfter === 0) return
        return sendFailure(
          reply,
          new OAuthFailure(429, 'too_many_requests', `too many failed token requests from this address; try again in ${retryAfter} seconds`, { 'retry-after': String(retryAfter) }),
        )
      },
      onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
        const status = reply.statusCode
        if (status >= 400 && status < 500 && status !== 429 && !this.#notFailures.has(request)) this.#limiter.miss(request.ip, this.#ctx.now())
      },
    }
  }
}
