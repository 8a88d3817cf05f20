/**
 * Several processes on one session file: one agent process keeps the session
 * (its FileStore writes), another follows it through a read-only FileStore's
 * change feed, and never asks the server for anything.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuthManager, FileStore } from '../../src/index.js'
import { eventually, startAgent, startBed, type AgentProcess, type Bed } from './support/bed.js'

const hash = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 16)

describe('AuthManager following a session another process keeps (read-only FileStore)', { timeout: 60_000 }, () => {
  let bed: Bed
  let keeper: AgentProcess | null = null
  let follower: AuthManager | null = null
  let store: FileStore | null = null

  beforeEach(async () => {
    // Tokens live 4 s and the keeper refreshes 2 s early: a refresh every 2 s.
    bed = await startBed({ interval: 1, accessTtl: 4, refreshGrace: 30 })
  })

  afterEach(async () => {
    follower?.dispose()
    await store?.close()
    await keeper?.kill()
    await bed.dispose()
  })

  it('takes each token the keeper saves from the change feed, without a request of its own', async () => {
    const path = join(bed.dir, 'session.json')
    keeper = startAgent({ CS_URL: bed.url, CS_STORE: path, CS_SKEW_MS: '2000' })
    const handle = await keeper.next('handle')
    await bed.owner.approve(handle.userCode as string)
    const signedIn = await keeper.next('signedIn')

    let requests = 0
    store = new FileStore(path, { readOnly: true })
    follower = new AuthManager(bed.url, store, { refreshSkewMs: 2000, fetch: (async () => (requests++, new Response(null, { status: 500 }))) as typeof fetch })
    expect(await follower.resume()).toBe('authenticated')
    expect(follower.agentId).toBe(handle.agentId)
    expect(hash(await follower.tokenProvider())).toBe(signedIn.accessHash)

    const seen: string[] = []
    follower.token$.subscribe((token) => token && seen.push(hash(token.accessToken)))
    const refreshed = await keeper.next('refreshed')
    await eventually(() => seen.includes(refreshed.accessHash as string), 'the follower to take the refreshed token')
    const token = await follower.tokenProvider()
    const keeperTokens = keeper.lines().filter((line) => line.event === 'refreshed').map((line) => line.accessHash)
    expect(keeperTokens).toContain(hash(token))

    expect(requests).toBe(0)
    expect(follower.state).toBe('authenticated')
  })
})
