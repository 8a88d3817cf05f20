import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentMe, expectFreshAccess, expectOAuthError, expectSamePair, jwtClaims, pollToken, refreshGrant, revokeToken, startProtocolServer, startRegistration, type ProtocolServer } from './protocol-support.js'

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

  it('answers a repeat exchange within the window (600 s) with the SAME unused pair, and that login goes on', async () => {
    const { deviceCode, agentId } = await approvedDeviceCode()
    const first = (await pollToken(url, deviceCode)).body

    // The agent died before saving the answer and comes back minutes later.
    server.clock.advance(599_000)
    const repeat = await pollToken(url, deviceCode)
    expectSamePair(repeat, first)
    expect(repeat.body.agent_id).toBe(agentId)
    // expires_in is what is left of the pair, counted from now.
    expect(repeat.body.expires_in).toBe(3600 - 599)
    expect(repeat.body.refresh_token_expires_in).toBe(2_592_000 - 599)
    expect((await agentMe(url, repeat.body.access_token)).status).toBe(200)
    expect((await refreshGrant(url, repeat.body.refresh_token)).status).toBe(200)
  })

  it('hands a repeat exchange whose access token is dead a fresh one of the same login, with the same refresh token', async () => {
    const short = await startProtocolServer({ accessTtl: 60 })
    try {
      const started = await startRegistration(short.url)
      await short.approve(started.user_code)
      const first = (await pollToken(short.url, started.device_code)).body
      short.clock.advance(90_000)
      await expectFreshAccess(short.url, await pollToken(short.url, started.device_code), first, 60)
    } finally {
      await short.dispose()
    }
  })

  it('gives two exchanges of the same code at once the same pair: one login, not two', async () => {
    for (let i = 0; i < 5; i++) {
      const { deviceCode } = await approvedDeviceCode()
      const [a, b] = await Promise.all([pollToken(url, deviceCode), pollToken(url, deviceCode)])
      expect([a.status, b.status]).toEqual([200, 200])
      expect(b.body.refresh_token).toBe(a.body.refresh_token)
      expect(b.body.access_token).toBe(a.body.access_token)
      expect((await refreshGrant(url, a.body.refresh_token)).status).toBe(200)
    }
  })

  it('answers invalid_grant to a repeat once the pair was used, and leaves the login alone', async () => {
    const { deviceCode } = await approvedDeviceCode()
    const first = (await pollToken(url, deviceCode)).body
    const refreshed = (await refreshGrant(url, first.refresh_token)).body
    expectOAuthError(await pollToken(url, deviceCode), 400, 'invalid_grant', /^the device code was already exchanged$/)
    expect((await agentMe(url, refreshed.access_token)).status).toBe(200)
    expect((await refreshGrant(url, refreshed.refresh_token)).status).toBe(200)
  })

  it.each([
    ['the owner revoked the agent', async (tokens: any) => (await server.owner()).revokeAgent(tokens.agent_id)],
    ['the agent revoked its refresh token (RFC 7009)', async (tokens: any) => void (await revokeToken(url, { token: tokens.refresh_token }))],
    ['reuse of a rotated refresh token revoked the login', async (tokens: any) => {
      const successor = (await refreshGrant(url, tokens.refresh_token)).body
      await refreshGrant(url, successor.refresh_token)
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
    server.clock.advance(400_000)
    expect((await pollToken(url, deviceCode)).status).toBe(200)
    server.clock.advance(201_000)
    expectOAuthError(await pollToken(url, deviceCode), 400, 'invalid_grant', /^the device code was already exchanged$/)
  })

  it('answers invalid_grant after the window and leaves the pair alive', async () => {
    const { deviceCode } = await approvedDeviceCode()
    const tokens = (await pollToken(url, deviceCode)).body
    server.clock.advance(601_000)
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
