/**
 * Protocol §2: starting an approval, for a new agent (register) or an existing
 * one (login), with the Idempotency-Key extension.
 */
import type { FastifyInstance } from 'fastify'
import type { ServerContext } from '../context.js'
import { OAuthFailure, invalidRequest, sendFailure } from './failure.js'
import { Form } from './form.js'
import { clientIdOf, scopeOf } from './params.js'

const USERNAME = /^[a-z0-9-]{3,40}$/
const PRINTABLE = /^[\x20-\x7e]{1,255}$/

export function registerDeviceAuthorization(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/oauth/device_authorization', { config: { rateLimit: { max: ctx.options.rateLimit, timeWindow: 60_000 } } }, async (request, reply) => {
    try {
      const form = Form.of(request)
      const clientId = clientIdOf(form, ctx)
      const scope = scopeOf(form, ctx)
      const agentName = form.optional('agent_name')
      const agentUsername = form.optional('agent_username')
      const agentId = form.optional('agent_id')
      const username = form.optional('username')
      const named = [agentName, agentId, username].filter((value) => value !== undefined).length
      if (named !== 1) throw invalidRequest('exactly one of agent_name (register), agent_id or username (login) is required')
      if (agentName !== undefined && (agentName.length > 100 || agentName.trim() === '' || /[\x00-\x1f\x7f]/.test(agentName))) {
        throw invalidRequest('agent_name must be 1 to 100 characters without control characters')
      }
      if (agentUsername !== undefined) {
        if (agentName === undefined) throw invalidRequest('agent_username goes only with agent_name')
        if (!USERNAME.test(agentUsername)) throw invalidRequest('agent_username must be 3 to 40 characters of a-z, 0-9 and -')
      }
      if (username !== undefined && !USERNAME.test(username)) throw invalidRequest('username must be 3 to 40 characters of a-z, 0-9 and -')
      if (agentId !== undefined && agentId.length > 100) throw invalidRequest('agent_id is too long')
      const keyHeader = request.headers['idempotency-key']
      if (Array.isArray(keyHeader)) throw invalidRequest('the Idempotency-Key header must be given once')
      if (keyHeader !== undefined && !PRINTABLE.test(keyHeader)) throw invalidRequest('the Idempotency-Key header must be 1 to 255 printable characters')

      const now = ctx.now()
      const { approval, deviceCode } = await ctx.approvals.start(
        { clientId, scope, agentName, agentUsername, agentId, username, idempotencyKey: keyHeader },
        now,
      )
      const issuer = ctx.issuer()
      reply.header('cache-control', 'no-store')
      return {
        device_code: deviceCode,
        user_code: approval.userCode,
        verification_uri: `${issuer}/device`,
        verification_uri_complete: `${issuer}/device?user_code=${encodeURIComponent(approval.userCode)}`,
        expires_in: Math.max(1, Math.ceil((approval.expiresAt - now) / 1000)),
        interval: approval.interval,
        agent_id: approval.agentId,
      }
    } catch (error) {
      if (error instanceof OAuthFailure) return sendFailure(reply, error)
      throw error
    }
  })
}
