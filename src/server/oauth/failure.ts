/**
 * An OAuth error answer (RFC 6749 §5.2 shape). Services throw it; routes turn
 * it into `{ error, error_description }` with its status and headers.
 */
import type { FastifyReply } from 'fastify'

export class OAuthFailure extends Error {
  override name = 'OAuthFailure'
  readonly status: number
  readonly error: string
  readonly headers: Record<string, string>

  constructor(status: number, error: string, description: string, headers: Record<string, string> = {}) {
    super(description)
    this.status = status
    this.error = error
    this.headers = headers
  }

  get description(): string {
    return this.message
  }
}

export const invalidRequest = (description: string) => new OAuthFailure(400, 'invalid_request', description)
export const invalidGrant = (description: string) => new OAuthFailure(400, 'invalid_grant', description)

export function sendFailure(reply: FastifyReply, failure: OAuthFailure): FastifyReply {
  reply.header('cache-control', 'no-store')
  for (const [name, value] of Object.entries(failure.headers)) reply.header(name, value)
  return reply.code(failure.status).send({ error: failure.error, error_description: failure.description })
}
