/**
 * Protocol §1: discovery (RFC 8414) and the JWKS.
 */
import type { FastifyInstance } from 'fastify'
import type { ServerContext } from '../context.js'
import { jwks } from '../keys.js'

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

export function serverMetadata(ctx: ServerContext): Record<string, unknown> {
  const issuer = ctx.issuer()
  return {
    issuer,
    device_authorization_endpoint: `${issuer}/oauth/device_authorization`,
    token_endpoint: `${issuer}/oauth/token`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    grant_types_supported: [DEVICE_CODE_GRANT, 'refresh_token'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    scopes_supported: ctx.options.scopesSupported,
    countersign_long_poll_supported: true,
    countersign_agent_registration_supported: true,
    // Seconds. A repeat of a refresh or device-code exchange whose answer was lost gets the same unused pair within this window.
    countersign_redelivery_window: ctx.options.redeliveryWindow,
    // Seconds. A rotated refresh token gets the same successor within this grace even once the successor was used.
    countersign_refresh_grace: ctx.options.refreshGrace,
  }
}

export function registerDiscovery(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return serverMetadata(ctx)
  })
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return jwks(ctx.db)
  })
}
