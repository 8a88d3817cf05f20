/**
 * Protocol §3–§4: the token endpoint, for device codes (polling, long-poll,
 * redelivery) and refresh tokens (rotation with grace, reuse detection).
 */
import type { FastifyInstance } from 'fastify'
import type { ServerContext } from '../context.js'
import { DEVICE_CODE_GRANT } from './discovery.js'
import { OAuthFailure, invalidRequest, sendFailure } from './failure.js'
import { Form } from './form.js'
import { clientIdOf } from './params.js'
import { TokenFailureLimit } from './token-failures.js'

const MAX_WAIT_SECONDS = 30

export function registerToken(app: FastifyInstance, ctx: ServerContext): void {
  const failures = new TokenFailureLimit(ctx)
  app.post('/oauth/token', failures.hooks(), async (request, reply) => {
    try {
      const form = Form.of(request)
      const grantType = form.required('grant_type')
      const clientId = clientIdOf(form, ctx)
      if (grantType === DEVICE_CODE_GRANT) {
        const deviceCode = form.required('device_code')
        const wait = form.optional('wait')
        let waitSeconds: number | undefined
        if (wait !== undefined) {
          if (!/^\d{1,2}$/.test(wait) || Number(wait) < 1 || Number(wait) > MAX_WAIT_SECONDS) {
            throw invalidRequest(`wait must be a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}`)
          }
          waitSeconds = Number(wait)
        }
        // The response's close, not the request's: a request closes once its body is read.
        const abort = new AbortController()
        const onClose = () => abort.abort()
        reply.raw.once('close', onClose)
        try {
          const { pair, agentId, issuedAt } = await ctx.approvals.exchange({ deviceCode, clientId, waitSeconds, signal: abort.signal })
          reply.header('cache-control', 'no-store')
          return ctx.tokens.tokenResponse(pair, agentId, issuedAt)
        } finally {
          reply.raw.off('close', onClose)
        }
      }
      if (grantType === 'refresh_token') {
        const refreshToken = form.required('refresh_token')
        const scope = form.optional('scope')
        const now = ctx.now()
        const { pair, agentId } = await ctx.tokens.refresh({ refreshToken, clientId, scope: scope?.split(' ').filter(Boolean).join(' ') || undefined }, now)
        reply.header('cache-control', 'no-store')
        return ctx.tokens.tokenResponse(pair, agentId, now)
      }
      throw new OAuthFailure(400, 'unsupported_grant_type', 'grant_type must be the device code grant or refresh_token')
    } catch (error) {
      if (!(error instanceof OAuthFailure)) throw error
      return sendFailure(reply, failures.refusal(request, error))
    }
  })
}
