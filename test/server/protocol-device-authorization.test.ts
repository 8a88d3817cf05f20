import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestOwner } from '../support/server.js'
import { agentMe, approvedLogin, expectOAuthError, pollToken, startApproval, startProtocolServer, startRegistration, type ProtocolServer } from './protocol-support.js'

const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/
const DAY_MS = 24 * 3600_000

describe('protocol §2: device authorization', () => {
  let server: ProtocolServer
  let url: string

  beforeAll(async () => {
    server = await startProtocolServer()
    url = server.url
  })
  afterAll(() => server.dispose())

  describe('register', () => {
    it('answers RFC 8628 §3.2 with agent_id: a random device code, a base-20 user code, the approval URL, 24 h and 3 s', async () => {
      const answer = await startApproval(url, { agent_name: 'Report Writer', scope: 'agent' })
      expect(answer.status).toBe(200)
      expect(answer.headers.get('cache-control')).toBe('no-store')
      const body = answer.body
      expect(Object.keys(body).sort()).toEqual(['agent_id', 'device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete'])
      expect(body.user_code).toMatch(USER_CODE)
      expect(body.verification_uri).toBe(`${url}/device`)
      expect(body.verification_uri_complete).toBe(`${url}/device?user_code=${body.user_code}`)
      expect(body.expires_in).toBe(86400)
      expect(body.interval).toBe(3)
      expect(body.agent_id).toMatch(/^agt_[A-Za-z0-9_-]{16,}$/)
      // >= 128 bits of randomness: at least 22 base64url characters that differ between requests.
      expect(body.device_code).toMatch(/^[A-Za-z0-9_.-]{22,}$/)
      const other = await startRegistration(url, { agent_name: 'Report Writer' })
      expect(other.device_code).not.toBe(body.device_code)
      expect(other.user_code).not.toBe(body.user_code)
      expect(other.agent_id).not.toBe(body.agent_id)
    })

    it('takes the wanted agent_username', async () => {
      const tokens = await approvedLogin(server, { agent_name: 'Mail Sorter', agent_username: 'mail-sorter-7' })
      expect((await agentMe(url, tokens.access_token)).body).toMatchObject({ name: 'Mail Sorter', username: 'mail-sorter-7' })
    })

    it('derives the username from the name when agent_username is absent, numbering repeats', async () => {
      const first = await approvedLogin(server, { agent_name: 'Nightly  Backup!' })
      const second = await approvedLogin(server, { agent_name: 'nightly backup' })
      const short = await approvedLogin(server, { agent_name: 'Q' })
      expect((await agentMe(url, first.access_token)).body.username).toBe('nightly-backup')
      expect((await agentMe(url, second.access_token)).body.username).toBe('nightly-backup-2')
      expect((await agentMe(url, short.access_token)).body.username).toBe('agent-q')
    })

    it('refuses a username that an agent holds, also while its registration is pending', async () => {
      await startRegistration(url, { agent_name: 'Holder', agent_username: 'held-name' })
      const answer = await startApproval(url, { agent_name: 'Latecomer', agent_username: 'held-name' })
      expectOAuthError(answer, 400, 'invalid_request', /^the username "held-name" is taken$/)
    })

    it('frees the username of a registration that was denied or expired', async () => {
      const denied = await startRegistration(url, { agent_name: 'Denied', agent_username: 'second-chance' })
      await server.deny(denied.user_code)
      expect((await startApproval(url, { agent_name: 'Again', agent_username: 'second-chance' })).status).toBe(200)

      await startRegistration(url, { agent_name: 'Forgotten', agent_username: 'left-behind' })
      server.clock.advance(DAY_MS + 1000)
      expect((await startApproval(url, { agent_name: 'Again', agent_username: 'left-behind' })).status).toBe(200)
    })

    it.each([
      ['an agent_username with capitals', { agent_name: 'Bot', agent_username: 'Bot-One' }, /^agent_username must be 3 to 40 characters of a-z, 0-9 and -$/],
      ['an agent_username of two characters', { agent_name: 'Bot', agent_username: 'ab' }, /^agent_username must be 3 to 40 characters/],
      ['an agent_username of 41 characters', { agent_name: 'Bot', agent_username: 'a'.repeat(41) }, /^agent_username must be 3 to 40 characters/],
      ['an agent_username without agent_name', { agent_id: 'agt_x', agent_username: 'lonely' }, /^agent_username goes only with agent_name$/],
      ['an agent_name of 101 characters', { agent_name: 'n'.repeat(101) }, /^agent_name must be 1 to 100 characters without control characters$/],
      ['an agent_name of blanks', { agent_name: '   ' }, /^agent_name must be 1 to 100 characters/],
      ['an agent_name with a control character', { agent_name: 'bell\u0007' }, /^agent_name must be 1 to 100 characters/],
    ])('answers 400 invalid_request for %s', async (_, params, description) => {
      expectOAuthError(await startApproval(url, params), 400, 'invalid_request', description)
    })

    it('accepts an agent_name of exactly 100 characters', async () => {
      expect((await startApproval(url, { agent_name: 'n'.repeat(100) })).status).toBe(200)
    })
  })

  describe('login', () => {
    it('starts a login for an existing agent by agent_id or by username, naming the same agent', async () => {
      const registered = await approvedLogin(server, { agent_name: 'Returning', agent_username: 'returning-agent' })
      const byId = await startApproval(url, { agent_id: registered.agent_id })
      const byUsername = await startApproval(url, { username: 'returning-agent' })
      expect(byId.status).toBe(200)
      expect(byUsername.status).toBe(200)
      expect(byId.body.agent_id).toBe(registered.agent_id)
      expect(byUsername.body.agent_id).toBe(registered.agent_id)
      expect(byId.body.user_code).toMatch(USER_CODE)
    })

    it('gives the owner a new token pair for the same agent when they approve the login', async () => {
      const registered = await approvedLogin(server, { agent_name: 'Comes Back' })
      const login = (await startApproval(url, { agent_id: registered.agent_id })).body
      await server.approve(login.user_code)
      const tokens = await pollToken(url, login.device_code)
      expect(tokens.status).toBe(200)
      expect(tokens.body.agent_id).toBe(registered.agent_id)
      expect(tokens.body.refresh_token).not.toBe(registered.refresh_token)
    })

    it('lets only the agent\'s owner approve its login', async () => {
      const registered = await approvedLogin(server, { agent_name: 'Owned' })
      const login = (await startApproval(url, { agent_id: registered.agent_id })).body
      const stranger = await TestOwner.create(url)
      const refused = await stranger.request('POST', `/api/approvals/${login.user_code}/approve`)
      expect(refused.status).toBe(403)
      expectOAuthError(await pollToken(url, login.device_code), 400, 'authorization_pending', /not been decided/)
    })

    it.each([
      ['an unknown agent_id', { agent_id: 'agt_doesnotexist' }, /^there is no active agent with that agent_id$/],
      ['an unknown username', { username: 'nobody-here' }, /^there is no active agent with that username$/],
      ['a username that breaks the pattern', { username: 'Nobody Here' }, /^username must be 3 to 40 characters of a-z, 0-9 and -$/],
    ])('answers 400 invalid_request for %s', async (_, params, description) => {
      expectOAuthError(await startApproval(url, params), 400, 'invalid_request', description)
    })

    it('answers 400 invalid_request for an agent that is not active: pending or denied', async () => {
      const pending = await startRegistration(url, { agent_name: 'Not Yet', agent_username: 'not-yet' })
      expectOAuthError(await startApproval(url, { agent_id: pending.agent_id }), 400, 'invalid_request', /^there is no active agent with that agent_id$/)
      expectOAuthError(await startApproval(url, { username: 'not-yet' }), 400, 'invalid_request', /^there is no active agent with that username$/)
      await server.deny(pending.user_code)
      expectOAuthError(await startApproval(url, { agent_id: pending.agent_id }), 400, 'invalid_request', /^there is no active agent with that agent_id$/)
    })
  })

  describe('which agent', () => {
    it.each([
      ['none of agent_name, agent_id, username', {}],
      ['an empty agent_name (RFC 6749 §3.1: empty means absent)', { agent_name: '' }],
      ['agent_name and agent_id', { agent_name: 'Both', agent_id: 'agt_x' }],
      ['agent_id and username', { agent_id: 'agt_x', username: 'some-agent' }],
      ['all three', { agent_name: 'All', agent_id: 'agt_x', username: 'some-agent' }],
    ])('answers 400 invalid_request for %s', async (_, params) => {
      expectOAuthError(await startApproval(url, params), 400, 'invalid_request', /^exactly one of agent_name \(register\), agent_id or username \(login\) is required$/)
    })
  })

  describe('client and scope', () => {
    it('answers 400 invalid_client for a client_id the server does not know', async () => {
      expectOAuthError(await startApproval(url, { client_id: 'someone-else', agent_name: 'Bot' }), 400, 'invalid_client', /^the client_id is not known to this server$/)
    })

    it('answers 400 invalid_request when client_id is missing', async () => {
      expectOAuthError(await startApproval(url, { client_id: '', agent_name: 'Bot' }), 400, 'invalid_request', /^the parameter client_id is required$/)
    })

    it('answers 400 invalid_scope naming a scope the server does not support', async () => {
      expectOAuthError(await startApproval(url, { agent_name: 'Bot', scope: 'agent admin' }), 400, 'invalid_scope', /^the scope "admin" is not supported$/)
    })

    it('grants the default scope when none is asked for, and each asked scope once', async () => {
      expect((await approvedLogin(server, { agent_name: 'Defaults' })).scope).toBe('agent')
      expect((await approvedLogin(server, { agent_name: 'Repeats', scope: 'agent:read  agent:read offline_access' })).scope).toBe('agent:read offline_access')
    })
  })

  describe('Idempotency-Key', () => {
    it('answers a repeat with the same key and parameters with the same approval, and makes no second agent', async () => {
      const params = { agent_name: 'Crash Prone', scope: 'agent offline_access' }
      const first = await startApproval(url, params, { 'idempotency-key': 'key-crash-prone-1' })
      server.clock.advance(10_000)
      const repeat = await startApproval(url, params, { 'idempotency-key': 'key-crash-prone-1' })
      expect(repeat.status).toBe(200)
      expect(repeat.body).toEqual({ ...first.body, expires_in: first.body.expires_in - 10 })
      // Had the repeat made an agent, it would hold "crash-prone-2" and this one "crash-prone-3".
      const third = await approvedLogin(server, { agent_name: 'Crash Prone' })
      expect((await agentMe(url, third.access_token)).body.username).toBe('crash-prone-2')
    })

    it('answers 422 when the key comes again with other parameters', async () => {
      await startApproval(url, { agent_name: 'Keyed' }, { 'idempotency-key': 'key-keyed' })
      const answer = await startApproval(url, { agent_name: 'Keyed', scope: 'agent:read' }, { 'idempotency-key': 'key-keyed' })
      expectOAuthError(answer, 422, 'invalid_request', /^this Idempotency-Key was already used with other parameters$/)
    })

    it('starts a new approval with the same key once the first one was approved, denied or expired', async () => {
      const params = { agent_name: 'Reused Key' }
      for (const close of [
        (userCode: string) => server.approve(userCode),
        (userCode: string) => server.deny(userCode),
        async () => server.clock.advance(DAY_MS + 1000),
      ]) {
        const first = (await startApproval(url, params, { 'idempotency-key': 'key-reused' })).body
        await close(first.user_code)
        const next = await startApproval(url, params, { 'idempotency-key': 'key-reused' })
        expect(next.status).toBe(200)
        expect(next.body.device_code).not.toBe(first.device_code)
        expect(next.body.agent_id).not.toBe(first.agent_id)
        await server.deny(next.body.user_code)
      }
    })

    it.each([
      ['longer than 255 characters', 'k'.repeat(256)],
      ['with a non-printable character', 'key\twith-tab'],
    ])('answers 400 invalid_request for a key %s', async (_, key) => {
      expectOAuthError(await startApproval(url, { agent_name: 'Bot' }, { 'idempotency-key': key }), 400, 'invalid_request', /^the Idempotency-Key header must be 1 to 255 printable characters$/)
    })
  })
})
