/**
 * Test support for unit-level runtime tests: a fetch that answers like an
 * approval server from a script, on a simulated clock. Each fake has its own
 * base URL, so the process-wide discovery cache never mixes two of them.
 */

let serial = 0

export interface FakeServer {
  baseUrl: string
  fetch: typeof fetch
  /** Grant types and paths asked for, with the clock's time. */
  requests: Array<{ what: string; at: number; form: URLSearchParams }>
  /** Answers to device-code polls, used in order; 'pending' once they run out. */
  pollAnswers: Array<'pending' | 'slow_down' | 'approve'>
  /** Refresh requests that fail without an answer before one succeeds. */
  refreshFaults: number
  /** The interval the device authorization names, or null for none. */
  interval: number | null
  jwt(lifetimeSeconds: number, subject?: string): string
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

/** `clock` is whatever the test runs on: a SimulatedClock, or `Date` under fake timers. */
export function fakeServer(clock: { now(): number }): FakeServer {
  const baseUrl = `http://fake-approval-server-${++serial}.test`
  let issued = 0
  const fake: FakeServer = {
    baseUrl,
    requests: [],
    pollAnswers: [],
    refreshFaults: 0,
    interval: null,
    jwt(lifetimeSeconds, subject = 'agt_fake') {
      const now = Math.floor(clock.now() / 1000)
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
      return `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${b64({ sub: subject, iat: now, exp: now + lifetimeSeconds, scope: 'agent', jti: `t${++issued}` })}.signature`
    },
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(String(input))
      const form = init?.body instanceof URLSearchParams ? init.body : new URLSearchParams()
      const what = form.get('grant_type') ?? url.pathname
      fake.requests.push({ what, at: clock.now(), form })
      if (url.pathname === '/.well-known/oauth-authorization-server') {
        return json(200, {
          issuer: baseUrl,
          device_authorization_endpoint: `${baseUrl}/oauth/device_authorization`,
          token_endpoint: `${baseUrl}/oauth/token`,
          revocation_endpoint: `${baseUrl}/oauth/revoke`,
          countersign_long_poll_supported: true,
          countersign_agent_registration_supported: true,
        })
      }
      if (url.pathname === '/oauth/device_authorization') {
        return json(200, {
          device_code: 'fake-device-code',
          user_code: 'BCDF-GHJK',
          verification_uri: `${baseUrl}/device`,
          verification_uri_complete: `${baseUrl}/device?user_code=BCDF-GHJK`,
          expires_in: 600,
          agent_id: 'agt_fake',
          ...(fake.interval === null ? {} : { interval: fake.interval }),
        })
      }
      if (what === 'refresh_token') {
        if (fake.refreshFaults > 0) {
          fake.refreshFaults--
          throw new TypeError('fetch failed')
        }
        return json(200, { access_token: fake.jwt(3600), token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${++issued}`, agent_id: 'agt_fake' })
      }
      if (what === 'urn:ietf:params:oauth:grant-type:device_code') {
        const answer = fake.pollAnswers.shift() ?? 'pending'
        if (answer === 'approve') return json(200, { access_token: fake.jwt(3600), token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${++issued}`, agent_id: 'agt_fake' })
        return json(400, { error: answer === 'pending' ? 'authorization_pending' : 'slow_down' })
      }
      if (url.pathname === '/oauth/revoke') return new Response(null, { status: 200 })
      return json(404, { error: 'not_found' })
    }) as typeof fetch,
  }
  return fake
}
