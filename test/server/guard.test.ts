import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { accessClaimsOf, createFastifyGuard, createNodeGuard, type AccessTokenClaims, type GuardOptions, type VerifyOptions } from '../../src/server/index.js'
import { getWithToken, startResourceServer, type Login, type ResourceServer } from './resource-support.js'

const AUDIENCE = 'countersign'
const REALM_ONLY = 'Bearer realm="reports"'

/**
 * The same checks for both guards, each on a small real resource server:
 * `/reports` lets in the agents on an allow list, `/admin` needs agent:write.
 */
interface Harness {
  url: string
  close(): Promise<void>
}

describe.each([
  ['the Fastify preHandler', startFastifyResource],
  ['the node:http guard', startNodeResource],
] as const)('%s', (_name, start) => {
  let issuer: ResourceServer
  let allowed: Login
  let stranger: Login
  let writer: Login
  let resource: Harness

  beforeAll(async () => {
    issuer = await startResourceServer({ accessTtl: 60 })
    allowed = await issuer.register({ scope: 'agent' })
    stranger = await issuer.register({ scope: 'agent' })
    writer = await issuer.register({ scope: 'agent agent:write' })
    const allowList = new Set([allowed.agentId, writer.agentId])
    resource = await start({
      issuer: issuer.url,
      audience: AUDIENCE,
      realm: 'reports',
      authorize: (claims, request) => allowList.has(claims.sub) && request.headers['x-tenant'] !== 'other',
    })
  })
  afterAll(async () => {
    await resource?.close()
    await issuer?.dispose()
  })

  it('lets an authorized agent through and hands the claims to the handler', async () => {
    const answer = await getWithToken(`${resource.url}/reports`, `Bearer ${allowed.accessToken}`)
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ sub: allowed.agentId, owner: issuer.ownerId, scope: 'agent', iss: issuer.url })
  })

  it('answers 401 with a realm-only challenge without a token', async () => {
    const answer = await getWithToken(`${resource.url}/reports`)
    expect(answer.status).toBe(401)
    expect(answer.challenge).toBe(REALM_ONLY)
    expect(answer.body).toEqual({ error: 'invalid_token', error_description: 'the request carries no access token; send it as Authorization: Bearer <token>' })
  })

  it('answers 401 invalid_token for a garbage token, with the reason', async () => {
    const answer = await getWithToken(`${resource.url}/reports`, 'Bearer garbage')
    expect(answer.status).toBe(401)
    expect(answer.challenge).toBe('Bearer realm="reports", error="invalid_token", error_description="the access token is not a well-formed JWT"')
    expect(answer.body).toEqual({ error: 'invalid_token', error_description: 'the access token is not a well-formed JWT' })
  })

  it('answers 401 invalid_token for a token of another audience', async () => {
    const strict = await start({ issuer: issuer.url, audience: 'billing' })
    try {
      const answer = await getWithToken(`${strict.url}/reports`, `Bearer ${allowed.accessToken}`)
      expect(answer.status).toBe(401)
      expect(answer.body.error_description).toBe('the access token is meant for another audience')
    } finally {
      await strict.close()
    }
  })

  it('answers 403 insufficient_scope when authorize says no', async () => {
    const answer = await getWithToken(`${resource.url}/reports`, `Bearer ${stranger.accessToken}`)
    expect(answer.status).toBe(403)
    expect(answer.challenge).toBe('Bearer realm="reports", error="insufficient_scope", error_description="the access token does not grant access to this resource"')
    expect(answer.body).toEqual({ error: 'insufficient_scope', error_description: 'the access token does not grant access to this resource' })
  })

  it('gives authorize the request, so it can decide on more than the token', async () => {
    const response = await fetch(`${resource.url}/reports`, { headers: { authorization: `Bearer ${allowed.accessToken}`, 'x-tenant': 'other' } })
    expect(response.status).toBe(403)
  })

  it('answers 403 insufficient_scope naming the required scope when the token lacks it', async () => {
    const answer = await getWithToken(`${resource.url}/admin`, `Bearer ${allowed.accessToken}`)
    expect(answer.status).toBe(403)
    expect(answer.challenge).toBe('Bearer realm="reports", error="insufficient_scope", error_description="the access token lacks the scope agent:write", scope="agent:write"')
    const writerAnswer = await getWithToken(`${resource.url}/admin`, `Bearer ${writer.accessToken}`)
    expect(writerAnswer.status).toBe(200)
    expect(writerAnswer.body.sub).toBe(writer.agentId)
  })

  it('answers 503, not 401, when the issuer\'s keys cannot be fetched', async () => {
    const stopped = await startResourceServer()
    const jwksUri = `${stopped.url}/.well-known/jwks.json`
    await stopped.dispose()
    const blind = await start({ issuer: issuer.url, audience: AUDIENCE, jwksUri })
    try {
      const response = await fetch(`${blind.url}/reports`, { headers: { authorization: `Bearer ${allowed.accessToken}` } })
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toBe('5')
      expect(response.headers.get('www-authenticate')).toBeNull()
      expect(await response.json()).toEqual({ error: 'temporarily_unavailable', error_description: "the access token could not be checked: the issuer's keys are unavailable" })
    } finally {
      await blind.close()
    }
  })

  it('refuses bad options with a TypeError naming the option', () => {
    expect(() => start({ issuer: 'nope', audience: AUDIENCE })).toThrow(new TypeError('options.issuer must be an absolute http(s) URL'))
    expect(() => start({ issuer: issuer.url, audience: AUDIENCE, scope: 42 as unknown as string })).toThrow(
      new TypeError('options.scope must be a space-separated string or an array of scope names'),
    )
    expect(() => start({ issuer: issuer.url, audience: AUDIENCE, authorize: 'yes' as unknown as () => boolean })).toThrow(new TypeError('options.authorize must be a function'))
  })
})

describe('a failing authorize callback', () => {
  let issuer: ResourceServer
  let login: Login

  beforeAll(async () => {
    issuer = await startResourceServer({ accessTtl: 60 })
    login = await issuer.register()
  })
  afterAll(() => issuer.dispose())

  it('reaches Fastify\'s error handler instead of becoming a refusal', async () => {
    const resource = await startFastifyResource({ issuer: issuer.url, audience: AUDIENCE, authorize: () => Promise.reject(new Error('policy store down')) })
    try {
      const answer = await getWithToken(`${resource.url}/reports`, `Bearer ${login.accessToken}`)
      expect(answer.status).toBe(500)
      expect(answer.challenge).toBeNull()
    } finally {
      await resource.close()
    }
  })

  it('rejects the node:http guard\'s promise and leaves the answer to the caller', async () => {
    const guard = createNodeGuard({ issuer: issuer.url, audience: AUDIENCE, authorize: () => { throw new Error('policy store down') } })
    const failures: unknown[] = []
    const server = createHttpServer(async (request, response) => {
      try {
        await guard(request, response)
      } catch (error) {
        failures.push(error)
        response.writeHead(500).end()
      }
    })
    const url = await listen(server)
    try {
      expect((await getWithToken(url, `Bearer ${login.accessToken}`)).status).toBe(500)
      expect(failures).toEqual([new Error('policy store down')])
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

/** Options both guards accept: authorize sees only what every request has, its headers. */
type TestGuardOptions = VerifyOptions & Pick<GuardOptions<unknown>, 'realm' | 'scope'> & {
  authorize?: (claims: AccessTokenClaims, request: { headers: IncomingHttpHeaders }) => boolean | Promise<boolean>
}

/** Makes the guards at once (so option errors throw synchronously), then starts the server. */
function startFastifyResource(options: TestGuardOptions): Promise<Harness> {
  const guard = createFastifyGuard(options)
  const admin = createFastifyGuard({ ...options, scope: 'agent:write' })
  return (async () => {
    const app: FastifyInstance = Fastify()
    app.get('/reports', { preHandler: guard }, async (request) => accessClaimsOf(request))
    app.get('/admin', { preHandler: admin }, async (request) => accessClaimsOf(request))
    const address = await app.listen({ host: '127.0.0.1', port: 0 })
    return { url: address, close: () => app.close() }
  })()
}

function startNodeResource(options: TestGuardOptions): Promise<Harness> {
  const guard = createNodeGuard(options)
  const admin = createNodeGuard({ ...options, scope: ['agent:write'] })
  return (async () => {
    const server = createHttpServer(async (request, response) => {
      const claims = await (request.url === '/admin' ? admin : guard)(request, response)
      if (!claims) return
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(claims))
    })
    const url = await listen(server)
    return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
  })()
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
