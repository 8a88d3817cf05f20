/**
 * The fault suite's server kills: `countersign serve` runs as a child process
 * on a fixed port and data file and is killed with SIGKILL at random moments,
 * then started again on both. Agent processes on 3 s tokens keep their
 * sessions across the kills (the server saves before it answers), and once
 * the server is back after an outage longer than a token lives,
 * tokenProvider() has a token again within its wait.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TestOwner } from '../support/server.js'
import { startFaultAgent, tearDown, type FaultAgent } from './agent-harness.js'
import { seeded, startFaultProxy, type FaultProxy } from './fault-proxy.js'
import { failuresWhileUp } from './outages.js'
import { killAtRandom, startServerProcess, type ServerProcess } from './server-harness.js'

const SEED = Number(process.env.COUNTERSIGN_FAULT_SEED ?? 20261203)
const OWNER = { email: 'kills@example.test', password: 'correct horse battery' }

describe('agents across server kills (countersign serve, SIGKILL, same port and data file)', { timeout: 50_000 }, () => {
  let proxy: FaultProxy
  let server: ServerProcess
  let dir: string
  let agents: FaultAgent[]

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-server-kills-'))
    proxy = await startFaultProxy()
    server = await startServerProcess({
      dataFile: join(dir, 'server.json'),
      issuer: proxy.url,
      args: ['--access-ttl', '3', '--refresh-grace', '0.2', '--interval', '1', '--rate-limit', '100000', '--owner', `${OWNER.email}:${OWNER.password}`],
    })
    proxy.target = server.address
    agents = []
  })

  afterEach(() => tearDown({ agents, server, proxy, dir }))

  it(`keeps every session through random server kills, and tokenProvider() recovers once the server is back (seed ${SEED})`, async () => {
    const owner = await TestOwner.create(proxy.url, OWNER.email, OWNER.password)
    const ids: string[] = []
    for (const name of ['s1', 's2']) {
      const agent = startFaultAgent({ url: proxy.url, store: join(dir, `${name}.json`), name })
      agents.push(agent)
      await owner.approve((await agent.next('handle')).userCode as string)
      ids.push((await agent.next('signedIn')).agentId as string)
    }

    const killer = killAtRandom(server, seeded(SEED), { upMs: [800, 2_500], downMs: [200, 1_500] })
    await new Promise((resolve) => setTimeout(resolve, 12_000))
    await killer.stop()
    expect(killer.outages.length).toBeGreaterThanOrEqual(3)

    // One outage longer than a token lives: the tokens expire meanwhile, and the server comes back.
    const killedAt = Date.now()
    await server.kill()
    await new Promise((resolve) => setTimeout(resolve, 3_500))
    await server.restart()
    const upAt = Date.now()
    const outages = [...killer.outages, { killedAt, upAt }]
    for (const [index, agent] of agents.entries()) {
      const check = await agent.check()
      expect(check, JSON.stringify(agent.lines.filter((line) => line.now > killedAt))).toMatchObject({ status: 200, agentId: ids[index] })
      expect(check.now - upAt).toBeLessThan(5_000)
    }

    // Whatever failed, failed while the server was down; nothing ended a session.
    for (const agent of agents) {
      expect(failuresWhileUp(agent.lines, outages)).toEqual([])
      expect(agent.lines.filter((line) => line.event === 'sessionEnded' || line.event === 'corrupt')).toEqual([])
      expect(agent.alive).toBe(true)
    }
    await owner.signIn()
    expect(((await owner.request('GET', '/api/agents')).body as Array<{ id: string }>).map((agent) => agent.id).sort()).toEqual([...ids].sort())
  })
})
