import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { CorruptFileError, ErrorCodes } from '../../src/errors.js'
import { createServer } from '../../src/server/index.js'
import { TestOwner } from '../support/server.js'
import {
  ManualClock,
  agentMe,
  approvedLogin,
  expectOAuthError,
  pollToken,
  refreshGrant,
  revokeToken,
  startApproval,
  startProtocolServer,
  startRegistration,
  type ProtocolServer,
} from './protocol-support.js'

/** Restarts the protocol server on the same data file and port, keeping the clock. */
async function restart(server: ProtocolServer): Promise<ProtocolServer> {
  const test = await server.test.restart()
  const owner = await server.owner()
  await owner.signIn()
  return { ...server, test, url: test.url, owner: async () => owner, approve: (code) => owner.approve(code), deny: (code) => owner.deny(code), dispose: () => test.dispose() }
}

describe('persistence of the reference server', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const dispose of cleanup.splice(0).reverse()) await dispose()
  })

  async function started(options = {}): Promise<ProtocolServer> {
    const server = await startProtocolServer(options)
    cleanup.push(() => server.dispose())
    return server
  }

  it('keeps the data file at mode 0600 through every kind of write, and leaves no temp file behind', async () => {
    const server = await started()
    const login = await approvedLogin(server)
    expect((await stat(server.test.dataFile)).mode & 0o777).toBe(0o600)
    await refreshGrant(server.url, login.refresh_token)
    await revokeToken(server.url, { token: login.access_token })
    expect((await stat(server.test.dataFile)).mode & 0o777).toBe(0o600)
    // Many writes at once: once every answer is in, every write is done, and no temp file remains.
    await Promise.all(Array.from({ length: 20 }, (_, i) => startRegistration(server.url, { agent_name: `Burst ${i}` })))
    expect((await readdir(server.test.dir)).sort()).toEqual(['server.json', 'server.json.lock'])
    await server.test.stop()
    expect((await stat(server.test.dataFile)).mode & 0o777).toBe(0o600)
    expect(await readdir(server.test.dir)).toEqual(['server.json'])
  })

  it('keeps secrets out of the data file: no refresh token, device code or password in clear', async () => {
    const server = await started()
    const registration = await startRegistration(server.url)
    await server.approve(registration.user_code)
    const tokens = (await pollToken(server.url, registration.device_code)).body
    await refreshGrant(server.url, tokens.refresh_token)
    const owner = await server.owner()
    await server.test.stop()
    const text = await readFile(server.test.dataFile, 'utf8')
    expect(text).not.toContain(tokens.refresh_token)
    expect(text).not.toContain(registration.device_code)
    expect(text).not.toContain(owner.password)
  })

  it('keeps owners, agents, refresh families and the signing key across a restart: tokens from before still work', async () => {
    let server = await started()
    const login = await approvedLogin(server, { agent_name: 'Survivor', agent_username: 'survivor' })
    const jwksBefore = await (await fetch(`${server.url}/.well-known/jwks.json`)).json()
    const ownerId = (await server.owner()).ownerId

    server = await restart(server)
    cleanup.push(() => server.dispose())

    expect(await (await fetch(`${server.url}/.well-known/jwks.json`)).json()).toEqual(jwksBefore)
    // The owner signs in with the same credentials and is the same owner.
    expect((await server.owner()).ownerId).toBe(ownerId)
    // The access token from before the restart verifies against the key set after it, and the resource server takes it.
    const { payload } = await jwtVerify(login.access_token, createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`)), {
      issuer: server.url,
      audience: 'countersign',
      algorithms: ['ES256'],
      currentDate: new Date(server.clock.now()),
    })
    expect(payload.sub).toBe(login.agent_id)
    expect((await agentMe(server.url, login.access_token)).body).toMatchObject({ agent_id: login.agent_id, username: 'survivor', owner: ownerId })
    // The refresh family lives on.
    const refreshed = await refreshGrant(server.url, login.refresh_token)
    expect(refreshed.status).toBe(200)
    expect(refreshed.body.agent_id).toBe(login.agent_id)
    // The agent is known: it can log in by username, and its username is still taken.
    expect((await startApproval(server.url, { username: 'survivor' })).body.agent_id).toBe(login.agent_id)
    expectOAuthError(await startApproval(server.url, { agent_name: 'Copycat', agent_username: 'survivor' }), 400, 'invalid_request', /taken/)
  })

  it('keeps rotation state across a restart: the repeat within the grace and the redelivery window, and reuse detection, all still hold', async () => {
    let server = await started()
    const login = await approvedLogin(server)
    const successor = (await refreshGrant(server.url, login.refresh_token)).body
    server = await restart(server)
    cleanup.push(() => server.dispose())

    const repeat = await refreshGrant(server.url, login.refresh_token)
    expect(repeat.body.refresh_token).toBe(successor.refresh_token)
    expect(repeat.body.access_token).toBe(successor.access_token)
    server.clock.advance(120_000)
    server = await restart(server)
    cleanup.push(() => server.dispose())
    // Past the grace, the successor still unused: the same pair, from the file.
    expect((await refreshGrant(server.url, login.refresh_token)).body.refresh_token).toBe(successor.refresh_token)
    expect((await refreshGrant(server.url, successor.refresh_token)).status).toBe(200)
    expectOAuthError(await refreshGrant(server.url, login.refresh_token), 400, 'invalid_grant', /already used/)
    expectOAuthError(await refreshGrant(server.url, successor.refresh_token), 400, 'invalid_grant', /revoked/)
  })

  it('keeps revocations across a restart', async () => {
    let server = await started()
    const a = await approvedLogin(server)
    const b = await approvedLogin(server)
    await revokeToken(server.url, { token: a.access_token })
    await revokeToken(server.url, { token: b.refresh_token })
    server = await restart(server)
    cleanup.push(() => server.dispose())
    expect((await agentMe(server.url, a.access_token)).status).toBe(401)
    expect((await refreshGrant(server.url, a.refresh_token)).status).toBe(200)
    expect((await agentMe(server.url, b.access_token)).status).toBe(401)
    expectOAuthError(await refreshGrant(server.url, b.refresh_token), 400, 'invalid_grant', /revoked/)
  })

  it('finishes an approval that was pending when the server stopped: approved after the restart, the client gets tokens for the same agent', async () => {
    let server = await started()
    const pending = await startRegistration(server.url, { agent_name: 'Patient Agent' })
    expectOAuthError(await pollToken(server.url, pending.device_code), 400, 'authorization_pending', /not been decided/)

    await server.test.stop()
    // While the server is down the client's polls fail at the network level; it keeps its device code.
    await expect(pollToken(server.url, pending.device_code)).rejects.toThrow()

    server = await restart(server)
    cleanup.push(() => server.dispose())
    server.clock.advance(3000)
    expectOAuthError(await pollToken(server.url, pending.device_code), 400, 'authorization_pending', /not been decided/)
    await server.approve(pending.user_code)
    const tokens = await pollToken(server.url, pending.device_code)
    expect(tokens.status).toBe(200)
    expect(tokens.body.agent_id).toBe(pending.agent_id)
    expect((await agentMe(server.url, tokens.body.access_token)).body.name).toBe('Patient Agent')
  })

  it('answers a repeated register with the same Idempotency-Key after a restart with the same approval', async () => {
    let server = await started()
    const params = { agent_name: 'Crashed Mid-Request' }
    const first = (await startApproval(server.url, params, { 'idempotency-key': 'restart-key' })).body
    server = await restart(server)
    cleanup.push(() => server.dispose())
    const repeat = await startApproval(server.url, params, { 'idempotency-key': 'restart-key' })
    expect(repeat.status).toBe(200)
    expect(repeat.body.device_code).toBe(first.device_code)
    expect(repeat.body.agent_id).toBe(first.agent_id)
    expect(repeat.body.user_code).toBe(first.user_code)
  })

  it('frees the username of a registration nobody approved once its expired approval is swept away', async () => {
    let server = await started()
    await startRegistration(server.url, { agent_name: 'Forgotten', agent_username: 'forgotten-bot' })
    // Expired after a day, kept another day for the record, then swept (at the latest when the server starts).
    server.clock.advance(49 * 3600_000)
    server = await restart(server)
    cleanup.push(() => server.dispose())
    const again = await startApproval(server.url, { agent_name: 'Second Try', agent_username: 'forgotten-bot' })
    expect(again.status).toBe(200)
  })

  it('keeps a grown polling interval across a restart', async () => {
    let server = await started()
    const pending = await startRegistration(server.url)
    await pollToken(server.url, pending.device_code)
    expectOAuthError(await pollToken(server.url, pending.device_code), 400, 'slow_down', /every 8 seconds/)
    server = await restart(server)
    cleanup.push(() => server.dispose())
    server.clock.advance(5000)
    expectOAuthError(await pollToken(server.url, pending.device_code), 400, 'slow_down', /every 13 seconds/)
  })

  describe('a corrupt data file', () => {
    let dir: string
    afterEach(() => rm(dir, { recursive: true, force: true }))

    it.each([
      ['text that is not JSON', '{"schemaVersion": 1, "owners": ['],
      ['JSON of another shape', JSON.stringify({ schemaVersion: 99, owners: 'none' })],
      ['an empty file', ''],
    ])('holding %s makes createServer reject with CorruptFileError naming the file, and leaves it byte for byte', async (_, content) => {
      dir = await mkdtemp(join(tmpdir(), 'countersign-corrupt-'))
      const dataFile = join(dir, 'server.json')
      await writeFile(dataFile, content, { mode: 0o600 })
      const before = await readFile(dataFile)
      const error = await createServer({ host: '127.0.0.1', port: 0, dataFile }).then(
        async (server) => {
          await server.close()
          return 'started'
        },
        (caught: unknown) => caught,
      )
      expect(error).toBeInstanceOf(CorruptFileError)
      expect((error as CorruptFileError).code).toBe(ErrorCodes.CORRUPT_FILE)
      expect((error as CorruptFileError).message).toBe(`the file ${dataFile} is corrupt and was not used`)
      expect((error as CorruptFileError).path).toBe(dataFile)
      expect(await readFile(dataFile)).toEqual(before)
      // Nothing else was written beside it, and no lock is left to stop a start once the file is repaired.
      expect(await readdir(dir)).toEqual(['server.json'])
    })

    it('lets the server start once the file is repaired (here: removed), with no lock left behind', async () => {
      dir = await mkdtemp(join(tmpdir(), 'countersign-corrupt-'))
      const dataFile = join(dir, 'server.json')
      await writeFile(dataFile, 'garbage')
      await expect(createServer({ host: '127.0.0.1', port: 0, dataFile })).rejects.toBeInstanceOf(CorruptFileError)
      await rm(dataFile)
      const server = await createServer({ host: '127.0.0.1', port: 0, dataFile, now: new ManualClock().now })
      try {
        await TestOwner.create(server.url)
      } finally {
        await server.close()
      }
    })
  })
})
