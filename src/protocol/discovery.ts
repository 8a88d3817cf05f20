/**
 * Discovery (protocol §1): RFC 8414 metadata, falling back to OpenID
 * Discovery for plain OIDC providers. The runtime reads it once and uses the
 * endpoints it names; no path is hard-coded.
 */
import { CountersignError, ErrorCodes } from '../errors.js'
import {
  assertResponse,
  invalidResponse,
  optionalBoolean,
  optionalUrl,
  readJsonObject,
  send,
  unexpectedStatus,
  type JsonObject,
} from './http.js'
import type { RequestOptions, ServerMetadata } from './types.js'

export type WellKnown = 'oauth-authorization-server' | 'openid-configuration'

const WHAT = 'discovery document'

function parseIssuer(issuer: string | URL): URL {
  const url = issuer instanceof URL ? new URL(issuer.href) : URL.canParse(issuer) ? new URL(issuer) : null
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new TypeError('issuer must be an http(s) URL')
  if (url.search || url.hash) throw new TypeError('issuer must have no query or fragment')
  return url
}

/**
 * Where the metadata of `issuer` lives. RFC 8414 §3 inserts the well-known
 * segment before the issuer's path; OpenID Discovery appends it.
 */
export function discoveryUrl(issuer: string | URL, wellKnown: WellKnown = 'oauth-authorization-server'): URL {
  const url = parseIssuer(issuer)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  url.pathname = wellKnown === 'oauth-authorization-server' ? `/.well-known/${wellKnown}${path}` : `${path}/.well-known/${wellKnown}`
  return url
}

/** GETs one discovery document. */
export function discoveryRequest(issuer: string | URL, wellKnown: WellKnown = 'oauth-authorization-server', options: RequestOptions = {}): Promise<Response> {
  return send(discoveryUrl(issuer, wellKnown), { method: 'GET', headers: { accept: 'application/json' } }, WHAT, options)
}

function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/$/, '') === b.replace(/\/$/, '')
}

function requiredUrl(body: JsonObject, field: string, status: number): string {
  const value = optionalUrl(body, field, WHAT, status)
  if (value === null) throw invalidResponse(WHAT, `${status} without "${field}"`, status)
  return value
}

/**
 * Checks a discovery answer and returns its metadata. The issuer it names must
 * be the one asked for (RFC 8414 §3.3), and it must offer the device grant.
 */
export async function processDiscoveryResponse(response: Response, expectedIssuer: string | URL): Promise<ServerMetadata> {
  assertResponse(response)
  const expected = parseIssuer(expectedIssuer).href
  const body = await readJsonObject(response, WHAT)
  const { status } = response
  if (status !== 200) throw unexpectedStatus(WHAT, status)
  const issuer = requiredUrl(body, 'issuer', status)
  if (!sameIssuer(issuer, expected) && !sameIssuer(new URL(issuer).href, expected)) {
    throw invalidResponse(WHAT, `${status} for issuer "${issuer}", not "${expected}" as asked`, status)
  }
  const deviceAuthorizationEndpoint = optionalUrl(body, 'device_authorization_endpoint', WHAT, status)
  if (deviceAuthorizationEndpoint === null) {
    throw new CountersignError(ErrorCodes.INVALID_RESPONSE, `the server at ${expected} does not offer the device authorization grant (no "device_authorization_endpoint" in its metadata)`, { status })
  }
  return {
    issuer,
    deviceAuthorizationEndpoint,
    tokenEndpoint: requiredUrl(body, 'token_endpoint', status),
    revocationEndpoint: optionalUrl(body, 'revocation_endpoint', WHAT, status),
    jwksUri: optionalUrl(body, 'jwks_uri', WHAT, status),
    countersign: Object.keys(body).some((key) => key.startsWith('countersign_')),
    longPollSupported: optionalBoolean(body, 'countersign_long_poll_supported'),
    agentRegistrationSupported: optionalBoolean(body, 'countersign_agent_registration_supported'),
  }
}

/** Answers that mean "no document here", after which the OpenID location is tried. */
function isAbsent(response: Response): boolean {
  return [400, 401, 403, 404, 405, 406, 410].includes(response.status)
}

/**
 * Discovers a server: the RFC 8414 document first, the OpenID one when the
 * first is absent. A network fault or 5xx is not "absent": it throws
 * NetworkError so the caller retries instead of concluding too much.
 */
export async function discover(issuer: string | URL, options: RequestOptions = {}): Promise<ServerMetadata> {
  const first = await discoveryRequest(issuer, 'oauth-authorization-server', options)
  if (!isAbsent(first)) return processDiscoveryResponse(first, issuer)
  first.body?.cancel().catch(() => {})
  const second = await discoveryRequest(issuer, 'openid-configuration', options)
  if (isAbsent(second)) {
    second.body?.cancel().catch(() => {})
    throw new CountersignError(
      ErrorCodes.INVALID_RESPONSE,
      `no discovery document at ${parseIssuer(issuer).href}: /.well-known/oauth-authorization-server answered ${first.status} and /.well-known/openid-configuration answered ${second.status}`,
      { status: second.status },
    )
  }
  return processDiscoveryResponse(second, issuer)
}
