import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuthManager } from 'countersign'
import { startTestServer, TestOwner, type TestServer } from '../support/server.js'
import type { Child } from '../support/process.js'
import { runExample, stopExamples } from './support.js'

describe('examples/resource-server.ts', () => {
  let server: TestServer
  let api: Child
  let base: string
  const agents: { auth: AuthManager; token: string; id: string }[] = []

  beforeAll(async () => {
    server = await startTestServer()
    const owner = await TestOwner.create(server.url)
    for (const name of ['Alice Agent', 'Bob Agent']) {
      const auth = new AuthManager(server.url)
      const handle = await auth.register({ name })
      await owner.approve(handle.userCode)
      await handle.waitForApproval()
      agents.push({ auth, token: await auth.tokenProvider(), id: auth.agentId! })
    }
    api = runExample('resource-server', { COUNTERSIGN_SERVER: server.url, PORT: '0' })
    base = (await api.waitForLine(/^resource server listening on (\S+), accepting tokens of /))[1]!
  })
  afterAll(async () => {
    await stopExamples()
    for (const { auth } of agents) auth.dispose()
    await server.dispose()
  })

  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.json() }
  }

  it('tells an agent with a valid token who it is, and never echoes the token', async () => {
    const [alice] = agents
    const { status, body } = await call('GET', '/whoami', alice!.token)
    expect(status).toBe(200)
    expect(body).toMatchObject({ agent_id: alice!.id, scope: 'agent' })
    expect(JSON.stringify(body)).not.toContain(alice!.token)
  })

  it('refuses a missing or forged token with RFC 6750 challenges', async () => {
    expect(await call('GET', '/whoami')).toMatchObject({ status: 401, challenge: 'Bearer realm="countersign"' })
    const forged = `${agents[0]!.token.slice(0, -4)}AAAA`
    const refused = await call('GET', '/whoami', forged)
    expect(refused.status).toBe(401)
    expect(refused.challenge).toMatch(/^Bearer realm="countersign", error="invalid_token"/)
  })

  it("lets each agent reach its own notes and refuses another agent's with 403 insufficient_scope", async () => {
    const [alice, bob] = agents
    expect(await call('POST', `/agents/${alice!.id}/notes`, alice!.token, { text: 'first note' })).toMatchObject({ status: 201, body: { notes: ['first note'] } })
    expect(await call('GET', `/agents/${alice!.id}/notes`, alice!.token)).toMatchObject({ status: 200, body: { notes: ['first note'] } })

    const trespass = await call('GET', `/agents/${alice!.id}/notes`, bob!.token)
    expect(trespass.status).toBe(403)
    expect(trespass.challenge).toMatch(/error="insufficient_scope"/)
    expect(trespass.body.error).toBe('insufficient_scope')
    expect((await call('POST', `/agents/${alice!.id}/notes`, bob!.token, { text: 'not yours' })).status).toBe(403)
  })

  it('answers 400 for a note that is not a string of 1 to 1000 characters', async () => {
    const [alice] = agents
    expect(await call('POST', `/agents/${alice!.id}/notes`, alice!.token, { text: '' })).toEqual({
      status: 400,
      challenge: null,
      body: { error: 'invalid_request', error_description: 'text must be a string of 1 to 1000 characters' },
    })
  })

  it('stops cleanly on SIGINT', async () => {
    api.process.kill('SIGINT')
    expect(await api.exited).toEqual({ code: 0, signal: null })
    expect(api.stdout()).toContain('resource server stopped')
  })
})
