/**
 * The `clientId` option on the wire, against the real server that knows only
 * that client: every request the runtime sends carries it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuthManager, MemoryStore } from '../../src/index.js'
import { startBed, type Bed } from './support/bed.js'
import { isDeviceAuthorization, isDeviceCodePoll, isRefreshGrant, type ProxiedRequest } from './support/proxy.js'

const CLIENT_ID = 'fleet-agent-7'
const isRevocation = (request: ProxiedRequest) => request.path === '/oauth/revoke'

describe('AuthManager: a custom clientId', () => {
  let bed: Bed
  let auth: AuthManager | null = null

  beforeEach(async () => {
    // The server refuses any other client (the default countersign-agent included) with invalid_client.
    bed = await startBed({ interval: 1, accessTtl: 3600, clientIds: [CLIENT_ID] })
  })

  afterEach(async () => {
    auth?.dispose()
    await bed.dispose()
  })

  it('sends the configured client_id with the device authorization, every poll, the refresh and the revocation', async () => {
    auth = new AuthManager(bed.url, new MemoryStore(), { clientId: CLIENT_ID })
    const handle = await auth.register({ name: 'Fleet Agent' })
    const waiting = handle.waitForApproval()
    await bed.owner.approve(handle.userCode)
    await waiting
    await auth.forceRefresh()
    await auth.revoke()

    const requests = bed.proxy.requests
    expect(requests.filter(isDeviceAuthorization)).toHaveLength(1)
    expect(requests.filter(isDeviceCodePoll).length).toBeGreaterThanOrEqual(1)
    expect(requests.filter(isRefreshGrant)).toHaveLength(1)
    expect(requests.filter(isRevocation).length).toBeGreaterThanOrEqual(1)
    // Everything the runtime posted to the server's OAuth endpoints, not only the kinds counted above.
    const posted = requests.filter((request) => request.method === 'POST' && request.path.startsWith('/oauth/'))
    expect(posted.map((request) => `${request.path} ${request.form.get('client_id')}`)).toEqual(posted.map((request) => `${request.path} ${CLIENT_ID}`))
  })
})
