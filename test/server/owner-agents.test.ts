/**
 * Protocol §6, agents: an owner lists their agents with their live sessions
 * and revokes every login of one.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { TestOwner, startTestServer, type TestServer } from '../support/server.js'
import { exchange, refresh, startLogin, startRegister } from './owner-helpers.js'

let test: TestServer | undefined

afterEach(async () => {
  await test?.dispose()
  test = undefined
})

async function approvedLogin(url: string, owner: TestOwner, started: { user_code: string; device_code: string }) {
  await owner.approve(started.user_code)
  const tokens = await exchange(url, started.device_code)
  expect(tokens.status).toBe(200)
  return tokens.body as { agent_id: string; refresh_token: string; access_token: string }
}

describe('GET /api/agents', () => {
  it("lists the owner's agents, newest first, with creation, last use and live sessions, and no one else's", async () => {
    let clock = Date.UTC(2026, 4, 1, 9, 0, 0)
    test = await startTestServer({ now: () => clock })
    const ada = await TestOwner.create(test.url, 'ada@example.test')
    const bob = await TestOwner.create(test.url, 'bob@example.test')
    const first = await approvedLogin(test.url, ada, await startRegister(test.url, 'First agent'))
    clock += 60_000
    const second = await approvedLogin(test.url, ada, await startRegister(test.url, 'Second agent'))
    clock += 60_000
    await approvedLogin(test.url, ada, await startLogin(test.url, first.agent_id))
    await approvedLogin(test.url, bob, await startRegister(test.url, 'Bob agent'))
    // A registration nobody decided yet belongs to nobody.
    await startRegister(test.url, 'Undecided agent')

    const answer = await ada.request('GET', '/api/agents')
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual([
      {
        id: second.agent_id,
        name: 'Second agent',
        username: 'second-agent',
        created_at: '2026-05-01T09:01:00.000Z',
        last_seen_at: '2026-05-01T09:01:00.000Z',
        active_sessions: 1,
      },
      {
        id: first.agent_id,
        name: 'First agent',
        username: 'first-agent',
        created_at: '2026-05-01T09:00:00.000Z',
        last_seen_at: '2026-05-01T09:02:00.000Z',
        active_sessions: 2,
      },
    ])
    expect((await bob.request('GET', '/api/agents')).body.map((agent: { name: string }) => agent.name)).toEqual(['Bob agent'])
  })

  it('does not count a login whose refresh token has expired', async () => {
    let clock = Date.now()
    test = await startTestServer({ now: () => clock, refreshTtl: 60 })
    const owner = await TestOwner.create(test.url)
    await approvedLogin(test.url, owner, await startRegister(test.url, 'Short lived'))
    expect((await owner.request('GET', '/api/agents')).body[0].active_sessions).toBe(1)
    clock += 60_000
    expect((await owner.request('GET', '/api/agents')).body[0].active_sessions).toBe(0)
  })

  it('answers 401 without a session', async () => {
    test = await startTestServer()
    const response = await fetch(`${test.url}/api/agents`)
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ error: 'unauthorized', error_description: 'sign in first: this request has no valid session cookie' })
  })
})

describe('POST /api/agents/{id}/revoke', () => {
  it('revokes every login of the agent: its refresh tokens then answer invalid_grant and its access tokens stop working', async () => {
    test = await startTestServer()
    const owner = await TestOwner.create(test.url)
    const first = await approvedLogin(test.url, owner, await startRegister(test.url, 'Revoked agent'))
    const second = await approvedLogin(test.url, owner, await startLogin(test.url, first.agent_id))
    const other = await approvedLogin(test.url, owner, await startRegister(test.url, 'Untouched agent'))

    const answer = await owner.request('POST', `/api/agents/${first.agent_id}/revoke`)
    expect(answer).toEqual({ status: 200, body: { agent_id: first.agent_id, revoked_sessions: 2 } })

    for (const login of [first, second]) {
      const refreshed = await refresh(test.url, login.refresh_token)
      expect(refreshed.status).toBe(400)
      expect(refreshed.body).toEqual({ error: 'invalid_grant', error_description: 'the refresh token is unknown, expired or revoked; a new login is needed' })
      const me = await fetch(`${test.url}/api/agent/me`, { headers: { authorization: `Bearer ${login.access_token}` } })
      expect(me.status).toBe(401)
    }
    expect((await refresh(test.url, other.refresh_token)).status).toBe(200)
    const listed = (await owner.request('GET', '/api/agents')).body as Array<{ id: string; active_sessions: number }>
    expect(listed.find((agent) => agent.id === first.agent_id)?.active_sessions).toBe(0)

    // The agent itself stays the owner's: it may log in again with a new approval.
    await approvedLogin(test.url, owner, await startLogin(test.url, first.agent_id))
  })

  it("answers 404 for someone else's agent and for an unknown id, and revokes nothing", async () => {
    test = await startTestServer()
    const ada = await TestOwner.create(test.url, 'ada@example.test')
    const mallory = await TestOwner.create(test.url, 'mallory@example.test')
    const login = await approvedLogin(test.url, ada, await startRegister(test.url, 'Ada agent'))
    for (const id of [login.agent_id, 'agt_unknown', 'x'.repeat(150)]) {
      const answer = await mallory.request('POST', `/api/agents/${id}/revoke`)
      expect(answer.status, id).toBe(404)
      expect(answer.body).toEqual({ error: 'not_found', error_description: 'you have no agent with this id' })
    }
    expect((await refresh(test.url, login.refresh_token)).status).toBe(200)
  })
})
