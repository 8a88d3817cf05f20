import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, generateKeyPair, importJWK, type JWK, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CountersignError, ErrorCodes } from '../../src/errors.js'
import { verifyAccessToken } from '../../src/server/index.js'
import { startResourceServer, type Login, type ResourceServer } from './resource-support.js'

const AUDIENCE = 'countersign'

/** Expects a CountersignError of the given code and message that does not repeat the token. */
async function expectRefusal(promise: Promise<unknown>, token: string, code: string, message: string): Promise<CountersignError> {
  const error = await promise.then(
    () => {
      throw new Error('the verification succeeded')
    },
    (failure: unknown) => failure,
  )
  expect(error).toBeInstanceOf(CountersignError)
  const refusal = error as CountersignError
  expect(refusal.code).toBe(code)
  expect(refusal.message).toBe(message)
  expect(refusal.message).not.toContain(token)
  expect(JSON.stringify({ ...refusal })).not.toContain(token)
  return refusal
}

function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
}

function encodePart(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

describe('verifyAccessToken against the reference server', () => {
  let server: ResourceServer
  let other: ResourceServer
  let login: Login

  beforeAll(async () => {
    server = await startResourceServer({ accessTtl: 60 })
    other = await startResourceServer({ accessTtl: 60 })
    login = await server.register({ name: 'Verified', scope: 'agent offline_access' })
  })
  afterAll(async () => {
    await server.dispose()
    await other.dispose()
  })

  /** Signs claims with the server's own key, as it would, but with whatever the test wants in them. */
  async function signedByServer(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
    const jwk = await server.signingJwk()
    const key = await importJWK(jwk, 'ES256')
    const base = decodePart(login.accessToken.split('.')[1]!)
    return new SignJWT({ ...base, ...claims }).setProtectedHeader({ alg: 'ES256', kid: jwk.kid as string, typ: 'at+jwt', ...header }).sign(key)
  }

  it('returns the claims of a good token', async () => {
    const claims = await verifyAccessToken(login.accessToken, { issuer: server.url, audience: AUDIENCE })
    expect(claims).toMatchObject({ iss: server.url, sub: login.agentId, aud: AUDIENCE, scope: 'agent offline_access', owner: server.ownerId, exp: login.exp })
    expect(claims.sid).toMatch(/^fam_/)
    expect(claims.jti).toMatch(/^at_/)
    expect(typeof claims.iat).toBe('number')
  })

  it('accepts an audience list that includes the token\'s audience', async () => {
    await expect(verifyAccessToken(login.accessToken, { issuer: server.url, audience: ['other', AUDIENCE] })).resolves.toMatchObject({ sub: login.agentId })
  })

  it('refuses a token meant for another audience', async () => {
    await expectRefusal(verifyAccessToken(login.accessToken, { issuer: server.url, audience: 'billing' }), login.accessToken, ErrorCodes.INVALID_TOKEN, 'the access token is meant for another audience')
  })

  it('refuses a token of another issuer: its key is not among that issuer\'s keys', async () => {
    await expectRefusal(
      verifyAccessToken(login.accessToken, { issuer: other.url, audience: AUDIENCE }),
      login.accessToken,
      ErrorCodes.INVALID_TOKEN,
      "the access token's signing key is not one of the issuer's keys",
    )
  })

  it('refuses a token whose iss is not the expected issuer even when the keys match', async () => {
    await expectRefusal(
      verifyAccessToken(login.accessToken, { issuer: 'https://issuer.example', audience: AUDIENCE, jwksUri: `${server.url}/.well-known/jwks.json` }),
      login.accessToken,
      ErrorCodes.INVALID_TOKEN,
      'the access token was issued by another issuer',
    )
  })

  it('refuses an expired token, and accepts one that expired within the clock tolerance', async () => {
    const justExpired = () => login.exp * 1000 + 10_000
    await expectRefusal(
      verifyAccessToken(login.accessToken, { issuer: server.url, audience: AUDIENCE, clockTolerance: 0, now: justExpired }),
      login.accessToken,
      ErrorCodes.INVALID_TOKEN,
      'the access token has expired',
    )
    await expect(verifyAccessToken(login.accessToken, { issuer: server.url, audience: AUDIENCE, now: justExpired })).resolves.toMatchObject({ sub: login.agentId })
    await expectRefusal(
      verifyAccessToken(login.accessToken, { issuer: server.url, audience: AUDIENCE, now: () => login.exp * 1000 + 31_000 }),
      login.accessToken,
      ErrorCodes.INVALID_TOKEN,
      'the access token has expired',
    )
  })

  it('refuses a tampered token', async () => {
    const [header, payload, signature] = login.accessToken.split('.') as [string, string, string]
    const tampered = `${header}.${encodePart({ ...decodePart(payload), scope: 'agent admin' })}.${signature}`
    const error = await expectRefusal(verifyAccessToken(tampered, { issuer: server.url, audience: AUDIENCE }), tampered, ErrorCodes.INVALID_TOKEN, 'the access token signature does not verify')
    expect(error.status).toBe(401)
    expect(error.oauthError).toBe('invalid_token')
  })

  it('refuses an unsigned token (alg none)', async () => {
    const [header, payload] = login.accessToken.split('.') as [string, string]
    const unsigned = `${encodePart({ ...decodePart(header), alg: 'none' })}.${payload}.`
    await expectRefusal(verifyAccessToken(unsigned, { issuer: server.url, audience: AUDIENCE }), unsigned, ErrorCodes.INVALID_TOKEN, 'the access token is not signed with ES256')
  })

  it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const jwk = await server.signingJwk()
    const publicJwk: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk))
    const payload = decodePart(login.accessToken.split('.')[1]!)
    const hs256 = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: jwk.kid as string, typ: 'at+jwt' }).sign(secret)
    await expectRefusal(verifyAccessToken(hs256, { issuer: server.url, audience: AUDIENCE }), hs256, ErrorCodes.INVALID_TOKEN, 'the access token is not signed with ES256')
  })

  it('refuses an ES256 token signed by a stranger\'s key under the server\'s key id', async () => {
    const jwk = await server.signingJwk()
    const { privateKey } = await generateKeyPair('ES256')
    const payload = decodePart(login.accessToken.split('.')[1]!)
    const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: jwk.kid as string, typ: 'at+jwt' }).sign(privateKey)
    await expectRefusal(verifyAccessToken(forged, { issuer: server.url, audience: AUDIENCE }), forged, ErrorCodes.INVALID_TOKEN, 'the access token signature does not verify')
  })

  it('refuses a token of the right key whose typ is not at+jwt (an ID token, say)', async () => {
    const idToken = await signedByServer({}, { typ: 'JWT' })
    await expectRefusal(verifyAccessToken(idToken, { issuer: server.url, audience: AUDIENCE }), idToken, ErrorCodes.INVALID_TOKEN, 'the token is not an access token (its "typ" header is not at+jwt)')
  })

  it('refuses a token of the right key that lacks a claim of the protocol', async () => {
    const noSid = await signedByServer({ sid: undefined })
    await expectRefusal(verifyAccessToken(noSid, { issuer: server.url, audience: AUDIENCE }), noSid, ErrorCodes.INVALID_TOKEN, 'the access token has no "sid" claim of type string')
    const noJti = await signedByServer({ jti: undefined })
    await expectRefusal(verifyAccessToken(noJti, { issuer: server.url, audience: AUDIENCE }), noJti, ErrorCodes.INVALID_TOKEN, 'the access token has no "jti" claim')
  })

  it('refuses garbage and an empty token as invalid, and a non-string with a TypeError', async () => {
    await expectRefusal(verifyAccessToken('garbage', { issuer: server.url, audience: AUDIENCE }), 'garbage', ErrorCodes.INVALID_TOKEN, 'the access token is not a well-formed JWT')
    await expectRefusal(verifyAccessToken('', { issuer: server.url, audience: AUDIENCE }), 'garbage', ErrorCodes.INVALID_TOKEN, 'the access token is empty')
    await expect(verifyAccessToken(42 as unknown as string, { issuer: server.url, audience: AUDIENCE })).rejects.toThrow(new TypeError('token must be a string'))
  })

  it('names the bad option with a TypeError', async () => {
    const token = login.accessToken
    await expect(verifyAccessToken(token, { issuer: 'not a url', audience: AUDIENCE })).rejects.toThrow(new TypeError('options.issuer must be an absolute http(s) URL'))
    await expect(verifyAccessToken(token, { issuer: server.url, audience: '' })).rejects.toThrow(new TypeError('options.audience must be a non-empty string or array of strings'))
    await expect(verifyAccessToken(token, { issuer: server.url, audience: AUDIENCE, clockTolerance: -1 })).rejects.toThrow(
      new TypeError('options.clockTolerance must be a number of seconds, 0 or more'),
    )
    await expect(verifyAccessToken(token, { issuer: server.url, audience: AUDIENCE, jwksUri: 'ftp://x' })).rejects.toThrow(new TypeError('options.jwksUri must be an absolute http(s) URL'))
  })
})

describe('verifyAccessToken and the issuer\'s keys', () => {
  it('keeps the key set it fetched: verification goes on after the issuer stops', async () => {
    const server = await startResourceServer({ accessTtl: 60 })
    const login = await server.register()
    await verifyAccessToken(login.accessToken, { issuer: server.url, audience: AUDIENCE })
    await server.dispose()
    await expect(verifyAccessToken(login.accessToken, { issuer: server.url, audience: AUDIENCE })).resolves.toMatchObject({ sub: login.agentId })
  })

  it('reports an unreachable issuer as a network error, not as a bad token', async () => {
    const server = await startResourceServer({ accessTtl: 60 })
    const login = await server.register()
    const stopped = await startResourceServer()
    const issuer = stopped.url
    await stopped.dispose()
    const error = await expectRefusal(
      verifyAccessToken(login.accessToken, { issuer, audience: AUDIENCE }),
      login.accessToken,
      ErrorCodes.NETWORK_ERROR,
      `the discovery document at ${issuer}/.well-known/oauth-authorization-server could not be fetched`,
    )
    expect(error.name).toBe('NetworkError')
    await server.dispose()
  })

  describe('with a discovery document that does not fit', () => {
    let stub: Server
    let base: string
    let answer: { status: number; body: unknown } = { status: 200, body: {} }

    beforeAll(async () => {
      stub = createHttpServer((_request, response) => {
        response.writeHead(answer.status, { 'content-type': 'application/json' })
        response.end(JSON.stringify(answer.body))
      })
      await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve))
      base = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`
    })
    afterAll(() => new Promise<void>((resolve) => stub.close(() => resolve())))

    it('refuses a document that names another issuer (RFC 8414 §3.3)', async () => {
      answer = { status: 200, body: { issuer: 'https://elsewhere.example', jwks_uri: `${base}/jwks` } }
      await expectRefusal(verifyAccessToken('a.b.c', { issuer: `${base}/a`, audience: AUDIENCE }), 'a.b.c', ErrorCodes.INVALID_RESPONSE, `the discovery document at ${base}/a/.well-known/oauth-authorization-server names another issuer`)
    })

    it('refuses a document answered with an error status', async () => {
      answer = { status: 404, body: { error: 'not_found' } }
      const error = await expectRefusal(verifyAccessToken('a.b.c', { issuer: `${base}/b`, audience: AUDIENCE }), 'a.b.c', ErrorCodes.INVALID_RESPONSE, `the discovery document at ${base}/b/.well-known/oauth-authorization-server answered 404, not 200`)
      expect(error.status).toBe(404)
    })

    it('does not keep a failed discovery: the next verification fetches the document again', async () => {
      const server = await startResourceServer()
      const login = await server.register()
      answer = { status: 500, body: { error: 'server_error' } }
      await expectRefusal(verifyAccessToken(login.accessToken, { issuer: `${base}/c`, audience: AUDIENCE }), login.accessToken, ErrorCodes.INVALID_RESPONSE, `the discovery document at ${base}/c/.well-known/oauth-authorization-server answered 500, not 200`)
      answer = { status: 200, body: { issuer: `${base}/c`, jwks_uri: `${server.url}/.well-known/jwks.json` } }
      // Now the keys are found and the token itself is judged: it names the real server as its issuer.
      await expectRefusal(verifyAccessToken(login.accessToken, { issuer: `${base}/c`, audience: AUDIENCE }), login.accessToken, ErrorCodes.INVALID_TOKEN, 'the access token was issued by another issuer')
      await server.dispose()
    })

    it('reports a key set that is not one as the issuer\'s fault', async () => {
      answer = { status: 200, body: { keys: 'none' } }
      const server = await startResourceServer()
      const login = await server.register()
      await expectRefusal(
        verifyAccessToken(login.accessToken, { issuer: server.url, audience: AUDIENCE, jwksUri: `${base}/jwks` }),
        login.accessToken,
        ErrorCodes.INVALID_RESPONSE,
        `the key set at ${base}/jwks could not be used: JSON Web Key Set malformed`,
      )
      await server.dispose()
    })
  })
})
