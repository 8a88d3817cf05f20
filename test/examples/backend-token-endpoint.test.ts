import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startTestServer, TestOwner, type TestServer } from '../support/server.js'
import { runExample, secretsIn, stopExamples, userCodeOf } from './support.js'

describe('examples/backend-token-endpoint.ts', () => {
  let server: TestServer
  let owner: TestOwner

  beforeEach(async () => {
    server = await startTestServer({ accessTtl: 600 })
    owner = await TestOwner.create(server.url)
  })
  afterEach(async () => {
    await stopExamples()
    await server.dispose()
  })

  it('hands the front end { token, expiresIn } without the refresh token, and its API accepts that token only', async () => {
    const storePath = join(server.dir, 'backend.json')
    const backend = runExample('backend-token-endpoint', { COUNTERSIGN_SERVER: server.url, BACKEND_STORE: storePath, PORT: '0' })
    try {
      const [, approvalUrl] = await backend.waitForLine(/^approve this backend at (\S+)$/)
      await owner.approve(userCodeOf(approvalUrl!))
      const [, base] = await backend.waitForLine(/^backend listening on (\S+)$/)

      const tokenResponse = await fetch(`${base}/token`, { headers: { 'sec-fetch-site': 'same-origin' } })
      expect(tokenResponse.status).toBe(200)
      expect(tokenResponse.headers.get('cache-control')).toBe('no-store')
      const body = (await tokenResponse.json()) as { token: string; expiresIn: number }
      expect(Object.keys(body).sort()).toEqual(['expiresIn', 'token'])
      expect(body.expiresIn).toBeGreaterThan(540)
      expect(body.expiresIn).toBeLessThanOrEqual(600)
      const [accessToken, refreshToken] = await secretsIn(storePath)
      expect(body.token).toBe(accessToken)
      expect(JSON.stringify(body)).not.toContain(refreshToken)

      const hello = await fetch(`${base}/api/hello`, { headers: { authorization: `Bearer ${body.token}` } })
      expect(hello.status).toBe(200)
      expect(((await hello.json()) as { hello: string }).hello).toMatch(/^agt_/)

      const anonymous = await fetch(`${base}/api/hello`)
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="countersign"')

      const crossSite = await fetch(`${base}/token`, { headers: { 'sec-fetch-site': 'cross-site' } })
      expect(crossSite.status).toBe(403)
      expect(await crossSite.json()).toEqual({ error: 'forbidden', error_description: 'tokens are for this site only' })

      const page = await fetch(`${base}/`)
      expect(await page.text()).toContain("fetch('/token')")
    } finally {
      backend.process.kill('SIGTERM')
    }
    expect(await backend.exited).toEqual({ code: 0, signal: null })
    expect(backend.stderr()).toBe('')
  })
})
