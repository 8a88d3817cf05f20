import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WsClient, getWithToken, startResourceServer, type Login, type ResourceServer } from './resource-support.js'

/** Header values fetch can send: printable ASCII, no leading or trailing blanks. */
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 300 }).map((value) => value.trim())

/** Tokens that look a little like JWTs: three base64url-ish parts, sometimes of a real token. */
function jwtLike(real: string): fc.Arbitrary<string> {
  const [header, payload, signature] = real.split('.') as [string, string, string]
  const part = fc.string({ unit: fc.constantFrom(...'ABCDEFabcdef0123456789-_'.split('')), maxLength: 60 })
  return fc.tuple(fc.oneof(part, fc.constant(header)), fc.oneof(part, fc.constant(payload)), fc.oneof(part, fc.constant(signature))).map((parts) => parts.join('.')).filter((token) => token !== real)
}

describe('bad input to the resource endpoints', () => {
  let server: ResourceServer
  let login: Login

  beforeAll(async () => {
    server = await startResourceServer({ accessTtl: 60 })
    login = await server.register()
  })
  afterAll(() => server.dispose())

  it('answers any Authorization header but a good token with a documented 401, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(headerValue, headerValue.map((value) => `Bearer ${value}`), jwtLike(login.accessToken).map((token) => `Bearer ${token}`)), async (authorization) => {
        const answer = await getWithToken(`${server.url}/api/agent/me`, authorization === '' ? undefined : authorization)
        expect(answer.status).toBe(401)
        expect(answer.challenge).toMatch(/^Bearer realm="countersign"(, error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*")?$/)
        expect(answer.body.error).toBe('invalid_token')
        expect(typeof answer.body.error_description).toBe('string')
      }),
      { numRuns: 1000 },
    )
    expect((await getWithToken(`${server.url}/api/agent/me`, `Bearer ${login.accessToken}`)).status).toBe(200)
  })

  it('answers any text message on /ws with an echo or an error message, and stays open', async () => {
    const client = await WsClient.open(server.wsUrl, login.accessToken)
    const message = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json(),
      fc.record({ type: fc.constantFrom('echo', 'auth', 'ping', ''), id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)), token: fc.oneof(fc.integer(), fc.constant(''), fc.constant([])), data: fc.jsonValue() }, { requiredKeys: ['type'] }).map((value) => JSON.stringify(value)),
    ).filter((text) => !isAuthWithToken(text))
    await fc.assert(
      fc.asyncProperty(message, async (text) => {
        const answer = await client.ask(text)
        let sent: unknown
        try {
          sent = JSON.parse(text)
        } catch {
          sent = undefined
        }
        if (sent !== null && typeof sent === 'object' && !Array.isArray(sent) && (sent as { type?: unknown }).type === 'echo') {
          expect(answer).toEqual(sent)
        } else {
          expect(answer).toMatchObject({ type: 'error', error: 'invalid_message' })
          expect(typeof answer.error_description).toBe('string')
        }
      }),
      { numRuns: 1000 },
    )
    expect(client.socket.readyState).toBe(client.socket.OPEN)
    client.close()
  })
})

/** A well-formed auth message is not bad input: it is judged as a token (and a bad one closes with 4401, tested elsewhere). */
function isAuthWithToken(text: string): boolean {
  try {
    const value = JSON.parse(text) as { type?: unknown; token?: unknown } | null
    return value !== null && typeof value === 'object' && value.type === 'auth' && typeof value.token === 'string' && value.token !== ''
  } catch {
    return false
  }
}
