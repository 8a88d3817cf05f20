/**
 * `verifyAccessToken()`: for resource servers that accept countersign access
 * tokens. It checks what a token says by itself (signature, issuer, audience,
 * expiry); whether the token was revoked since it was issued is known only to
 * the issuing server, so access token lifetimes are kept short.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTHeaderParameters, type FlattenedJWSInput, type JWTPayload } from 'jose'
import { CountersignError, ErrorCodes, NetworkError } from '../errors.js'

/** The claims of a countersign access token (protocol §4). */
export interface AccessTokenClaims extends JWTPayload {
  iss: string
  /** The agent id. */
  sub: string
  aud: string | string[]
  iat: number
  exp: number
  jti: string
  /** Space separated. */
  scope: string
  /** The owner id. */
  owner: string
  /** The refresh-token family (the login) the token belongs to. */
  sid: string
}

/** What `verifyAccessToken()` accepts: which issuer and audience, and how much clock difference. */
export interface VerifyOptions {
  /** The issuer's base URL, as its discovery document and the tokens' `iss` name it. */
  issuer: string
  /** The audience this resource server accepts (the reference server's default is `countersign`). */
  audience: string | string[]
  /** Seconds of clock difference allowed on `exp`, `iat` and `nbf`. Default 30. */
  clockTolerance?: number
  /** Where the keys are; by default read from the issuer's discovery document. */
  jwksUri?: string
  /** The current time in epoch ms, injectable for tests. Default `Date.now`. */
  now?: () => number
}

export const DEFAULT_CLOCK_TOLERANCE = 30

const DISCOVERY_PATH = '/.well-known/oauth-authorization-server'
const FETCH_TIMEOUT_MS = 5000

type KeyResolver = (header: JWTHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>

/** One key set per issuer (and JWKS address), fetched once and refreshed by jose when an unknown `kid` shows up. */
const keySets = new Map<string, Promise<KeyResolver>>()

/**
 * Verifies a countersign access token: ES256 only, the given issuer and
 * audience, not expired (within the clock tolerance), with the claims the
 * protocol names. Resolves with the claims; rejects with a CountersignError
 * of code `invalid_token` for a token that must be refused, and of code
 * `network_error` or `invalid_response` when the issuer's keys cannot be
 * had (the token was not judged). Messages never repeat the token.
 */
export async function verifyAccessToken(token: string, options: VerifyOptions): Promise<AccessTokenClaims> {
  if (typeof token !== 'string') throw new TypeError('token must be a string')
  const settings = checkVerifyOptions(options)
  if (token === '') throw invalidToken('the access token is empty')
  const keys = await keySetFor(settings.issuer, settings.jwksUri)
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(token, keys, {
      issuer: settings.issuer,
      audience: settings.audience,
      algorithms: ['ES256'],
      typ: 'at+jwt',
      clockTolerance: settings.clockTolerance,
      currentDate: new Date(settings.now()),
      requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti'],
    }))
  } catch (error) {
    if (error instanceof KeySetUnavailable) throw error.reason
    throw invalidToken(describeJoseFailure(error), error)
  }
  for (const claim of ['scope', 'owner', 'sid'] as const) {
    if (typeof payload[claim] !== 'string') throw invalidToken(`the access token has no "${claim}" claim of type string`)
  }
  return payload as AccessTokenClaims
}

export interface VerifySettings {
  issuer: string
  audience: string | string[]
  clockTolerance: number
  jwksUri: string | undefined
  now: () => number
}

/** Checks verification options (TypeError naming the bad one); guards call it at construction. */
export function checkVerifyOptions(options: VerifyOptions): VerifySettings {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object with issuer and audience')
  const { issuer, audience, clockTolerance = DEFAULT_CLOCK_TOLERANCE, jwksUri, now = Date.now } = options
  if (!isHttpUrl(issuer)) throw new TypeError('options.issuer must be an absolute http(s) URL')
  const audienceOk = typeof audience === 'string' ? audience !== '' : Array.isArray(audience) && audience.length > 0 && audience.every((item) => typeof item === 'string' && item !== '')
  if (!audienceOk) throw new TypeError('options.audience must be a non-empty string or array of strings')
  if (typeof clockTolerance !== 'number' || !Number.isFinite(clockTolerance) || clockTolerance < 0) {
    throw new TypeError('options.clockTolerance must be a number of seconds, 0 or more')
  }
  if (jwksUri !== undefined && !isHttpUrl(jwksUri)) throw new TypeError('options.jwksUri must be an absolute http(s) URL')
  if (typeof now !== 'function') throw new TypeError('options.now must be a function returning epoch milliseconds')
  return { issuer, audience, clockTolerance, jwksUri, now }
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

/** Wraps a failure to get the keys, so it is not mistaken for a verdict on the token. */
class KeySetUnavailable extends Error {
  readonly reason: CountersignError
  constructor(reason: CountersignError) {
    super(reason.message)
    this.reason = reason
  }
}

function keySetFor(issuer: string, jwksUri: string | undefined): Promise<KeyResolver> {
  const cacheKey = `${issuer}\n${jwksUri ?? ''}`
  let keys = keySets.get(cacheKey)
  if (!keys) {
    keys = (async () => remoteKeys(new URL(jwksUri ?? (await discoverJwksUri(issuer)))))()
    keySets.set(cacheKey, keys)
    // A failed discovery is not cached: the next verification tries again.
    keys.catch(() => keySets.delete(cacheKey))
  }
  return keys
}

function remoteKeys(url: URL): KeyResolver {
  const remote = createRemoteJWKSet(url, { timeoutDuration: FETCH_TIMEOUT_MS })
  return async (header, token) => {
    try {
      return await remote(header, token)
    } catch (error) {
      // No or several matching keys is a verdict on the token; anything else is the key set's trouble.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error
      if (error instanceof errors.JWKSInvalid || (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC')) {
        throw new KeySetUnavailable(new CountersignError(ErrorCodes.INVALID_RESPONSE, `the key set at ${url.href} could not be used: ${error.message}`, { cause: error }))
      }
      if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout)) throw error
      throw new KeySetUnavailable(new NetworkError(`the key set at ${url.href} could not be fetched`, { cause: error }))
    }
  }
}

async function discoverJwksUri(issuer: string): Promise<string> {
  const address = `${issuer.replace(/\/+$/, '')}${DISCOVERY_PATH}`
  let response: Response
  try {
    response = await fetch(address, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
  } catch (error) {
    throw new NetworkError(`the discovery document at ${address} could not be fetched`, { cause: error })
  }
  if (response.status !== 200) {
    throw new CountersignError(ErrorCodes.INVALID_RESPONSE, `the discovery document at ${address} answered ${response.status}, not 200`, { status: response.status })
  }
  let metadata: unknown
  try {
    metadata = await response.json()
  } catch (error) {
    throw new CountersignError(ErrorCodes.INVALID_RESPONSE, `the discovery document at ${address} is not JSON`, { cause: error })
  }
  const { issuer: named, jwks_uri: jwksUri } = (metadata ?? {}) as Record<string, unknown>
  // RFC 8414 §3.3: the document must name the issuer it was fetched for.
  if (named !== issuer) throw new CountersignError(ErrorCodes.INVALID_RESPONSE, `the discovery document at ${address} names another issuer`)
  if (!isHttpUrl(jwksUri)) throw new CountersignError(ErrorCodes.INVALID_RESPONSE, `the discovery document at ${address} has no http(s) jwks_uri`)
  return jwksUri
}

function invalidToken(message: string, cause?: unknown): CountersignError {
  return new CountersignError(ErrorCodes.INVALID_TOKEN, message, { status: 401, oauthError: 'invalid_token', ...(cause === undefined ? {} : { cause }) })
}

/** jose's failure in words, without the token or its claims. */
function describeJoseFailure(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the access token has expired'
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'typ') return 'the token is not an access token (its "typ" header is not at+jwt)'
    if (error.reason === 'missing') return `the access token has no "${error.claim}" claim`
    if (error.claim === 'iss') return 'the access token was issued by another issuer'
    if (error.claim === 'aud') return 'the access token is meant for another audience'
    if (error.claim === 'nbf' || error.claim === 'iat') return 'the access token is not valid yet'
    return `the access token's "${error.claim}" claim is not acceptable`
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the access token is not signed with ES256'
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the access token signature does not verify'
  if (error instanceof errors.JWKSNoMatchingKey) return "the access token's signing key is not one of the issuer's keys"
  if (error instanceof errors.JWKSMultipleMatchingKeys) return "the access token's key id matches several of the issuer's keys"
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'the access token is not a well-formed JWT'
  if (error instanceof errors.JOSENotSupported) return 'the access token uses an algorithm or feature that is not supported'
  return 'the access token could not be verified'
}
