/**
 * Protocol §7 for the token endpoint: failed token requests are limited per
 * client address. Only failures count (an unknown, used or malformed device
 * code or refresh token, a bad client id or grant type, a malformed body), so
 * a fleet of agents refreshing from one address is never slowed, and polling
 * stays paced by `slow_down`, not 429. An address over its budget gets 429
 * with Retry-After in place of each further failure; a request that succeeds
 * is still answered. Locking the address out altogether would let one broken
 * agent, or anyone sending junk from the same address (a NAT, a proxy), stop
 * every other agent there from refreshing, and it would protect nothing:
 * device codes and refresh tokens carry 128 bits or more and are not guessed.
 */
import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify'
import type { ServerContext } from '../context.js'
import { MissLimiter } from '../miss-limiter.js'
import { OAuthFailure } from './failure.js'

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

  /**
   * What to answer in place of `failure`: itself when it is a polling answer
   * (not counted) or the address is within its budget, else 429.
   */
  refusal(request: FastifyRequest, failure: OAuthFailure): OAuthFailure {
    if (POLLING_ANSWERS.has(failure.error)) {
      this.#notFailures.add(request)
      return failure
    }
    const retryAfter = this.#limiter.retryAfter(request.ip, this.#ctx.now())
    if (retryAfter === 0) return failure
    return new OAuthFailure(429, 'too_many_requests', `too many failed token requests from this address; try again in ${retryAfter} seconds`, { 'retry-after': String(retryAfter) })
  }

  /** Route hook: counts each failure once answered (a 429 does not count, so it does not extend the wait). */
  hooks(): Pick<RouteShorthandOptions, 'onResponse'> {
    return {
      onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
        const status = reply.statusCode
        if (status >= 400 && status < 500 && status !== 429 && !this.#notFailures.has(request)) this.#limiter.miss(request.ip, this.#ctx.now())
      },
    }
  }
}
