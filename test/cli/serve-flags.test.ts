/**
 * `countersign serve` with every flag set to a value that is not its default:
 * each one must reach the running server.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, startChild, type Child } from '../support/process.js'
import { TestOwner } from '../support/server.js'
import { expectOAuthError, jwtClaims, pollToken, refreshGrant, sleep, startApproval } from '../server/protocol-support.js'

const ISSUER = 'https://approvals.example.test/countersign'
const OWNER = { email: 'operator@example.test', password: 'operator-password' }
const FLAGS = {
  accessTtl: 120,
  refreshTtl: 7200,
  approvalTtl: 600,
  interval: 2,
  refreshGrace: 2,
  redeliveryWindow: 900,
  rateLimit: 3,
}

describe('countersign serve with every flag set', () => {
  let dir: string
  let dataFile: string
  let child: Child
  /** Where the server listens; the issuer names a proxy that is not there. */
  let local: string
  let owner: TestOwner

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-serve-flags-'))
    dataFile = join(dir, 'data', 'server.json')
    child = startChild(process.execPath, [
      CLI, 'serve',
      '--host', '127.0.0.1',
      '--port', '0',
      '--data', dataFile,
      '--issuer', `${ISSUER}/`,
      '--trust-proxy', '127.0.0.1, 10.0.0.0/8',
      '--access-ttl', String(FLAGS.accessTtl),
      '--refresh-ttl', String(FLAGS.refreshTtl),
      '--approval-ttl', String(FLAGS.approvalTtl),
      '--interval', String(FLAGS.interval),
      '--refresh-grace', String(FLAGS.refreshGrace),
      '--redelivery-window', String(FLAGS.redeliveryWindow),
      '--no-signup',
      '--owner', `${OWNER.email}:${OWNER.password}`,
      '--rate-limit', String(FLAGS.rateLimit),
    ])
    await child.waitForLine(/^countersign server listening on /)
    local = (await child.waitForLine(/^ {2}address: +(http:\/\/127\.0\.0\.1:\d+)$/))[1]!
    owner = new TestOwner(local, OWNER.email, OWNER.password)
  })
  afterAll(async () => {
    if (child.process.exitCode === null) child.process.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('--issuer: names itself by the issuer (trailing slash dropped) and says where it listens', async () => {
    await child.waitForLine(/^ {2}owner: /)
    const lines = child.stdout().split('\n')
    expect(lines[0]).toBe(`countersign server listening on ${ISSUER}`)
    expect(lines).toContain(`  data:      ${dataFile}`)
    const metadata = await (await fetch(`${local}/.well-known/oauth-authorization-server`)).json()
    expect(metadata.issuer).toBe(ISSUER)
    expect(metadata.token_endpoint).toBe(`${ISSUER}/oauth/token`)
    expect(metadata.countersign_refresh_grace).toBe(FLAGS.refreshGrace)
    expect(metadata.countersign_redelivery_window).toBe(FLAGS.redeliveryWindow)
  })

  it('--no-signup: sign-up is refused with 403 and the console offers none', async () => {
    const answer = await fetch(`${local}/api/owners`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'newcomer@example.test', password: 'newcomer-password' }),
    })
    expect(answer.status).toBe(403)
    expect(await answer.json()).toEqual({ error: 'signup_disabled', error_description: 'sign-up is turned off on this server; ask its operator for an account' })
    const page = await (await fetch(`${local}/`)).text()
    expect(page).toContain('Sign-up is turned off on this server.')
    expect(page).not.toContain('data-form="sign-up"')
  })

  it('--owner: that owner is in the data file, can sign in, and its password is printed nowhere', async () => {
    await owner.signIn()
    expect(owner.ownerId).toMatch(/\S/)
    const data = JSON.parse(await readFile(dataFile, 'utf8'))
    expect(data.owners.map((record: { email: string }) => record.email)).toEqual([OWNER.email])
    expect(child.stdout() + child.stderr()).not.toContain(OWNER.password)
  })

  it('--approval-ttl, --interval, --access-ttl, --refresh-ttl: the approval and the tokens carry them', async () => {
    const started = await startApproval(local, { agent_name: 'Flag Bot' })
    expect(started.status).toBe(200)
    expect(started.body.expires_in).toBe(FLAGS.approvalTtl)
    expect(started.body.interval).toBe(FLAGS.interval)
    expect(started.body.verification_uri).toBe(`${ISSUER}/device`)

    await owner.approve(started.body.user_code)
    const tokens = await pollToken(local, started.body.device_code)
    expect(tokens.status).toBe(200)
    expect(tokens.body.expires_in).toBe(FLAGS.accessTtl)
    expect(tokens.body.refresh_token_expires_in).toBe(FLAGS.refreshTtl)
    const claims = jwtClaims(tokens.body.access_token)
    // iat is rounded down to a whole second and exp up, so that the token lives at least the lifetime given.
    expect(claims.exp - claims.iat).toBeGreaterThanOrEqual(FLAGS.accessTtl)
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(FLAGS.accessTtl + 1)
    expect(claims.iss).toBe(ISSUER)

    // --refresh-grace 2: the rotated token gives the same successor pair at once, used or not.
    const rotated = await refreshGrant(local, tokens.body.refresh_token)
    const rotatedAt = Date.now()
    expect(rotated.status).toBe(200)
    expect(rotated.body.refresh_token_expires_in).toBe(FLAGS.refreshTtl)
    const again = await refreshGrant(local, tokens.body.refresh_token)
    expect(again.status).toBe(200)
    expect({ access: again.body.access_token, refresh: again.body.refresh_token }).toEqual({ access: rotated.body.access_token, refresh: rotated.body.refresh_token })
    // --redelivery-window 900: past the grace, the same pair again while the successor is unused; once it is used, reuse.
    await sleep(rotatedAt + FLAGS.refreshGrace * 1000 + 300 - Date.now())
    const late = await refreshGrant(local, tokens.body.refresh_token)
    expect(late.status).toBe(200)
    expect(late.body.refresh_token).toBe(rotated.body.refresh_token)
    expect((await refreshGrant(local, rotated.body.refresh_token)).status).toBe(200)
    expectOAuthError(await refreshGrant(local, tokens.body.refresh_token), 400, 'invalid_grant', /already used/)
  })

  it('--rate-limit 3: the fourth device authorization and the fourth failed sign-in of a minute get 429 with Retry-After', async () => {
    // The test above started one approval and signed in once.
    for (const name of ['Second', 'Third']) expect((await startApproval(local, { agent_name: `${name} Bot` })).status).toBe(200)
    const refused = await startApproval(local, { agent_name: 'Fourth Bot' })
    expectOAuthError(refused, 429, 'too_many_requests', /^too many requests from this address/)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)

    const wrong = (email: string) =>
      fetch(`${local}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'not the password' }) })
    expect([(await wrong('a@example.test')).status, (await wrong('b@example.test')).status, (await wrong('c@example.test')).status, (await wrong('d@example.test')).status]).toEqual([401, 401, 401, 429])
    // The right password of an account that is not waiting still signs in.
    await owner.signIn()
  })

  it('--trust-proxy: behind the proxy, each client its X-Forwarded-For names has a budget of its own', async () => {
    // The test above used the proxy's own budget of device authorizations.
    expectOAuthError(await startApproval(local, { agent_name: 'Proxy Bot' }), 429, 'too_many_requests', /^too many requests from this address/)
    for (const name of ['First', 'Second', 'Third']) expect((await startApproval(local, { agent_name: `${name} Client Bot` }, { 'x-forwarded-for': '203.0.113.5' })).status).toBe(200)
    expectOAuthError(await startApproval(local, { agent_name: 'Fourth Client Bot' }, { 'x-forwarded-for': '203.0.113.5' }), 429, 'too_many_requests', /^too many requests from this address/)
    expect((await startApproval(local, { agent_name: 'Another Client Bot' }, { 'x-forwarded-for': '203.0.113.6' })).status).toBe(200)
  })

  it('stops cleanly on SIGTERM', async () => {
    child.process.kill('SIGTERM')
    expect(await child.exited).toEqual({ code: 0, signal: null })
  })
})
