/**
 * Protocol §4.2: RFC 7009 revocation. Always 200 for a well-formed request,
 * also when the token is unknown.
 */
import type { FastifyInstance } from 'fastify'
import type { ServerContext } from '../context.js'
import { OAuthFailure, sendFailure } from './failure.js'
import { Form } from './form.js'
import { clientIdOf } from './params.js'

export function registerRevoke(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/oauth/revoke', async (request, reply) => {
    try {
      const form = Form.of(request)
      const token = form.required('token')
      // RFC 7009 §2.1: a hint is only a hint; an unknown one is ignored and every kind searched.
      const hint = form.optional('token_type_hint')
      const clientId = clientIdOf(form, ctx)
      await ctx.tokens.revokeToken(token, hint, clientId, ctx.now())
      reply.header('cache-control', 'no-store')
      return {}
    } catch (error) {
      if (error instanceof OAuthFailure) return sendFailure(reply, error)
      throw error
    }
  })
}
