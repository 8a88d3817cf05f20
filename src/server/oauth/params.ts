/**
 * Parameters shared by the OAuth endpoints.
 */
import type { ServerContext } from '../context.js'
import { OAuthFailure } from './failure.js'
import type { Form } from './form.js'

export function clientIdOf(form: Form, ctx: ServerContext): string {
  const clientId = form.optional('client_id')
  if (clientId === undefined) throw new OAuthFailure(400, 'invalid_request', 'the parameter client_id is required')
  if (!ctx.options.clientIds.includes(clientId)) throw new OAuthFailure(400, 'invalid_client', 'the client_id is not known to this server')
  return clientId
}

/** The requested scope, checked against what the server supports; the default when absent. */
export function scopeOf(form: Form, ctx: ServerContext): string {
  const scope = form.optional('scope')
  if (scope === undefined) return ctx.options.defaultScope
  const scopes = scope.split(' ').filter(Boolean)
  if (scopes.length === 0) return ctx.options.defaultScope
  const unknown = scopes.find((item) => !ctx.options.scopesSupported.includes(item))
  if (unknown !== undefined) throw new OAuthFailure(400, 'invalid_scope', `the scope "${unknown.slice(0, 64)}" is not supported`)
  return [...new Set(scopes)].join(' ')
}
