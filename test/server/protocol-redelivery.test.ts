import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentMe, expectOAuthError, jwtClaims, pollToken, refreshGrant, revokeToken, startProtocolServer, startRegistration, type ProtocolServer } from './protocol-support.js'

describe('protocol §3.3: the redelivery window', () => {
  let server: ProtocolServer
  let url: string

  beforeAll(async () => {
    server = await startProtocolServer()
    url = server.url
  })
  afterAll(() => server.dispose())

  async function approvedDeviceCode(): Promise<{ deviceCode: string; agentId: string }> {
    const started = await startRegistration(url, { scope: 'agent offline_access' })
    await server.approve(started.user_code)
    return { deviceCode: started.device_code, agentId: started.agent_id }
  }

  it('issues a new pair to a repeat exchange within 60 s and revokes the pair issued before', async () => {
    const { deviceCode, agentId } = await approvedDeviceCode()
    const first = (await pollToken(url, deviceCode)).body
    expect((await agentMe(url, first.access_token)).status).toBe(200)

    server.clock.advance(59_000)
    const repeat = await pollToken(url, deviceCode)
    expect(repeat.status).toBe(200)
    expect(repeat.body.agent_id).toBe(agentId)
    expect(repeat.body.access_token).not.toBe(first.access_token)
    expect(repeat.body.refresh_token).not.toBe(first.refresh_token)
    expect(jwtClaims(repeat.body.access_token).sid).not.toBe(jwtClaims(first.access_token).sid)

    // The old pair is dead: its refresh token is refused, its access token rejected by the resource server.
    expectOAuthError(await refreshGrant(url, first.refresh_token), 400, 'invalid_grant', /^the refresh token is unknown, expired or revoked; a new login is needed$/)
    expect((await agentMe(url, first.access_token)).status).toBe(401)
    // The new pair works.
    expect((await agentMe(url, repeat.body.access_token)).status).toBe(200)
    expect((await refreshGrant(url, repeat.body.refresh_token)).status).toBe(200)
  })

  it('leaves one live pair when two exchanges of the same code arrive at once: the one answered first is revoked', async () => {
    for (let i = 0; i < 5; i++) {
      const { deviceCode } = await approvedDeviceCode()
      const [a, b] = await Promise.all([pollToken(url, deviceCode), pollToken(url, deviceCode)])
      expect([a.status, b.status]).toEqual([200, 200])
      const alive = await Promise.all([a, b].map(async (answer) => (await agentMe(url, answer.body.access_token)).status === 200))
      expect(alive.filter(Boolean)).toHaveLength(1)
      const refreshed = await Promise.all([a, b].map(async (answer) => (await refreshGrant(url, answer.body.refresh_token)).status))
      expect(refreshed.filter((status) => status === 200)).toHaveLength(1)
    }
  })

  it.each([
    ['the owner revoked the agent', async (tokens: any) => (await server.owner()).revokeAgent(tokens.agent_id)],
    ['the agent revoked its refresh token (RFC 7009)', async (tokens: any) => void (await revokeToken(url, { token: tokens.refresh_token }))],
    ['reuse of a rotated refresh token revoked the login', async (tokens: any) => {
      await refreshGrant(url, tokens.refresh_token)
      server.clock.advance(31_000)
      await refreshGrant(url, tokens.refresh_token)
    }],
  ])('answers invalid_grant inside the window once %s: redelivery does not undo a revocation', async (_, revoke) => {
    const { deviceCode } = await approvedDeviceCode()
    const tokens = (await pollToken(url, deviceCode)).body
    await revoke(tokens)
    server.clock.advance(5_000)
    expectOAuthError(await pollToken(url, deviceCode), 400, 'invalid_grant', /^the tokens issued for this device code were revoked; a new approval is needed$/)
    expect((await agentMe(url, tokens.access_token)).status).toBe(401)
  })

  it('counts the window from the first exchange, not from the latest repeat', async () => {
    const { deviceCode } = await approvedDeviceCode()
    expect((await pollToken(url, deviceCode)).status).toBe(200)
    server.clock.advance(40_000)
    expect((await pollToken(url, deviceCode)).status).toBe(200)
    server.clock.advance(21_000)
    expectOAuthError(await pollToken(url, deviceCode), 400, 'invalid_grant', /^the device code was already exchanged$/)
  })

  it('answers invalid_grant after the window and leaves the pair issued last alive', async () => {
    const { deviceCode } = await approvedDeviceCode()
    const tokens = (await pollToken(url, deviceCode)).body
    server.clock.advance(61_000)
    expectOAuthError(await pollToken(url, deviceCode), 400, 'invalid_grant', /^the device code was already exchanged$/)
    expect((await agentMe(url, tokens.access_token)).status).toBe(200)
    expect((await refreshGrant(url, tokens.refresh_token)).status).toBe(200)
  })

  it('honours a shorter redeliveryWindow setting', async () => {
    const short = await startProtocolServer({ redeliveryWindow: 5 })
    try {
      const started = await startRegistration(short.url)
      await short.approve(started.user_code)
      expect((await pollToken(short.url, started.device_code)).status).toBe(200)
      short.clock.advance(4000)
      expect((await pollToken(short.url, started.device_code)).status).toBe(200)
      short.clock.advance(2000)
      expectOAuthError(await pollToken(short.url, started.device_code), 400, 'invalid_grant', /already exchanged/)
    } finally {
      await short.dispose()
    }
  })
})
