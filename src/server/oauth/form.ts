/**
 * Reading `application/x-www-form-urlencoded` parameters with the checks every
 * OAuth endpoint needs: the right content type, single values, sane lengths.
 */
import type { FastifyRequest } from 'fastify'
import { OAuthFailure, invalidRequest } from './failure.js'

const MAX_PARAMETER_LENGTH = 4096

export class Form {
  readonly #fields: Record<string, unknown>

  private constructor(fields: Record<string, unknown>) {
    this.#fields = fields
  }

  static of(request: FastifyRequest): Form {
    const type = request.headers['content-type'] ?? ''
    if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
      throw new OAuthFailure(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded')
    }
    const body = request.body
    return new Form(body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {})
  }

  /** A parameter given at most once; absent or empty gives undefined. */
  optional(name: string): string | undefined {
    const value = this.#fields[name]
    if (value === undefined) return undefined
    if (Array.isArray(value)) throw invalidRequest(`the parameter ${name} must not be repeated`)
    if (typeof value !== 'string') throw invalidRequest(`the parameter ${name} must be a string`)
    if (value.length > MAX_PARAMETER_LENGTH) throw invalidRequest(`the parameter ${name} is too long`)
    return value === '' ? undefined : value
  }

  required(name: string): string {
    const value = this.optional(name)
    if (value === undefined) throw invalidRequest(`the parameter ${name} is required`)
    return value
  }
}
