/**
 * The fault suite's long run: FAULT_AGENTS agent processes (default 8, an
 * AuthManager on a FileStore each) on 3 s access tokens talk to
 * `countersign serve` (a child process on a fixed port and data file)
 * through the fault proxy, which spoils 30 % of their requests of every kind
 * (resets before and after the server answered, truncated answers, black
 * holes, 502/503, late answers). Agents are killed with SIGKILL at random
 * and started again on their session file; the server is killed at random
 * and started again on its port and data file. FAULT_RUN_SECONDS long
 * (default 600); COUNTERSIGN_FAULT_SEED replays a run's random choices.
 *
 * Zero targets (the exit code is 1 when one is missed): sign-outs, lost
 * sessions, duplicate agents, corrupt session files, and tokenProvider()
 * failures while a token could have been had (see test/faults/outages.ts).
 *
 *   npm run bench -- faults
 *   FAULT_RUN_SECONDS=60 node --import tsx bench/faults.bench.ts
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readSessionFile, startFaultAgent, type AgentLine, type FaultAgent } from '../test/faults/agent-harness.js'
import { seeded, startFaultProxy, type Fault } from '../test/faults/fault-proxy.js'
import { avoidableFailures, refreshRequests } from '../test/faults/outages.js'
import { killAtRandom, startServerProcess } from '../test/faults/server-harness.js'
import { TestOwner } from '../test/support/server.js'
import { machine, sleep, summarize } from './server-support.js'

const SECONDS = Number(process.env.FAULT_RUN_SECONDS ?? 600)
const AGENTS = Number(process.env.FAULT_AGENTS ?? 8)
const SEED = Number(process.env.COUNTERSIGN_FAULT_SEED ?? 20261203)
const FAULT_SHARE = 0.3
const TIMEOUT_MS = 1_000
const AGENT_LIFE_MS: [number, number] = [4_000, 40_000]
const SERVER_UP_MS: [number, number] = [15_000, 45_000]
const SERVER_DOWN_MS: [number, number] = [500, 6_000]
const FAULTS: Fault[] = ['reset-before', 'reset-after', 'truncate', 'blackhole', 502, 503, { delayMs: 300 }]
const OWNER = { email: 'faults@example.test', password: 'correct horse battery' }
const kindOf = (fault: Fault) => (typeof fault === 'object' ? `delay ${fault.delayMs} ms` : String(fault))

const random = seeded(SEED)
const dir = await mkdtemp(join(tmpdir(), 'countersign-bench-faults-'))
const proxy = await startFaultProxy()
const server = await startServerProcess({
  dataFile: join(dir, 'server.json'),
  issuer: proxy.url,
  args: ['--access-ttl', '3', '--interval', '1', '--rate-limit', '1000000', '--owner', `${OWNER.email}:${OWNER.password}`],
})
proxy.target = server.address
const owner = await TestOwner.create(proxy.url, OWNER.email, OWNER.password)

// The server's answer to each agent request (status only), to explain a failure in the notes.
const answered = new WeakMap<object, number>()
proxy.hold = (request, answer) => void answered.set(request, answer.status)
const faults = new Map<string, number>()
let requests = 0
proxy.decide = (request) => {
  if (request.headers['x-fault-agent'] === undefined) return null
  requests++
  if (random() >= FAULT_SHARE) return null
  const fault = FAULTS[Math.floor(random() * FAULTS.length)]!
  faults.set(kindOf(fault), (faults.get(kindOf(fault)) ?? 0) + 1)
  return fault
}

interface Slot {
  name: string
  store: string
  /** The agent id the server gave this slot's login, once known. */
  agentId: string | null
  processes: FaultAgent[]
  current: FaultAgent | null
}

const slots: Slot[] = Array.from({ length: AGENTS }, (_, index) => ({ name: `b${index + 1}`, store: join(dir, `b${index + 1}.json`), agentId: null, processes: [], current: null }))
const problems = { signOuts: 0, lostSessions: 0, duplicateAgents: 0, corruptFiles: 0, crashed: 0 }
const notes: string[] = []
const approved = new Set<string>()
let agentKills = 0
let stopping = false

/** What one process of a slot said: checked as it is killed and at the end. */
function account(slot: Slot, agent: FaultAgent): void {
  for (const line of agent.lines) {
    if (line.event === 'sessionEnded' || line.event === 'revoked' || line.event === 'approvalFailed') {
      problems.signOuts++
      notes.push(`${slot.name}: ${line.event} ${String(line.code ?? '')} ${String(line.message ?? '')}`)
    }
    if (line.event === 'corrupt') problems.corruptFiles++
    const id = (line.event === 'handle' || line.event === 'signedIn') && typeof line.agentId === 'string' ? line.agentId : null
    if (id !== null && slot.agentId !== null && id !== slot.agentId) {
      problems.duplicateAgents++
      notes.push(`${slot.name}: a second agent ${id} beside ${slot.agentId}`)
    }
    if (id !== null) slot.agentId ??= id
  }
}

async function approvePending(): Promise<void> {
  for (const slot of slots) {
    for (const line of slot.current?.lines ?? []) {
      const code = line.event === 'handle' ? (line.userCode as string) : null
      if (code === null || approved.has(code)) continue
      try {
        const answer = await owner.request('POST', `/api/approvals/${encodeURIComponent(code)}/approve`)
        // 200; anything else below 500 is an earlier approve whose answer a server kill lost, or worth a note.
        if (answer.status !== 200 && answer.status < 500) notes.push(`approve ${answer.status}: ${JSON.stringify(answer.body)}`)
        if (answer.status < 500) approved.add(code)
      } catch {
        // The server is down: next round.
      }
    }
  }
}

function start(slot: Slot): FaultAgent {
  const hadLogin = slot.agentId !== null
  const agent = startFaultAgent({ url: proxy.url, store: slot.store, name: slot.name, env: { CS_SKEW_MS: '1000', CS_TIMEOUT_MS: String(TIMEOUT_MS) } })
  slot.processes.push(agent)
  slot.current = agent
  void agent.next('resumed', () => true, 120_000).then(
    (line) => {
      if (line.result === null && hadLogin) {
        problems.lostSessions++
        notes.push(`${slot.name}: a restart found no session (pid ${String(agent.lines[0]?.pid)})`)
      }
    },
    () => {},
  )
  return agent
}

async function runSlot(slot: Slot): Promise<void> {
  while (!stopping) {
    const agent = start(slot)
    const until = Date.now() + AGENT_LIFE_MS[0] + random() * (AGENT_LIFE_MS[1] - AGENT_LIFE_MS[0])
    while (!stopping && Date.now() < until && agent.alive) await sleep(100)
    if (stopping) return
    if (!agent.alive) {
      problems.crashed++
      notes.push(`${slot.name}: exited by itself: ${agent.child.stderr().slice(-500)}`)
    }
    await agent.kill()
    agentKills++
    account(slot, agent)
    const file = await readSessionFile(slot.store)
    if (file.kind === 'corrupt') {
      problems.corruptFiles++
      notes.push(`${slot.name}: session file ${file.reason}`)
    }
  }
}

console.log(`fault run: ${AGENTS} agents, 3 s access tokens, ${FAULT_SHARE * 100} % of agent requests spoiled, random agent and server kills, ${SECONDS} s, seed ${SEED}; ${machine()}`)
const startedAt = Date.now()
const approver = (async () => {
  while (!stopping) {
    await approvePending()
    await sleep(100)
  }
})()
const running = slots.map((slot) => runSlot(slot))
const killer = killAtRandom(server, random, { upMs: SERVER_UP_MS, downMs: SERVER_DOWN_MS })
const progress = setInterval(() => console.log(`  ${Math.round((Date.now() - startedAt) / 1000)} s: ${agentKills} agent kills, ${killer.outages.length} server kills, ${requests} agent requests`), 60_000)
await sleep(SECONDS * 1000)
clearInterval(progress)
await killer.stop()
const endedAt = Date.now()

// The run is over: no more faults or kills. Every slot's agent must be signed in on its first login, with a token the server accepts.
proxy.decide = () => null
stopping = true
await Promise.all(running)
const finalChecks: Array<{ slot: Slot; check: AgentLine | null }> = []
for (const slot of slots) {
  const agent = slot.current!
  const signedIn = agent.next('signedIn', () => true, 60_000).catch(() => null)
  const giveUpAt = Date.now() + 60_000
  while (agent.alive && !agent.lines.some((line) => line.event === 'signedIn') && Date.now() < giveUpAt) {
    await approvePending()
    await sleep(100)
  }
  // A check may meet a refresh still backing off from the last faults: it is tried again (the backoff is 30 s at most).
  let check: AgentLine | null = null
  for (let attempt = 0; (await signedIn) !== null && attempt < 10 && check?.status !== 200; attempt++) {
    if (attempt > 0) await sleep(4_000)
    check = await agent.check().catch(() => null)
  }
  finalChecks.push({ slot, check })
}
stopping = true
await approver
for (const { slot, check } of finalChecks) {
  account(slot, slot.current!)
  if (check === null || check.status !== 200 || check.agentId !== slot.agentId) {
    problems.lostSessions++
    notes.push(`${slot.name}: final check ${JSON.stringify(check)} (expected agent ${slot.agentId})`)
  }
}
await owner.signIn()
const atServer = ((await owner.request('GET', '/api/agents')).body as Array<{ id: string }>).length
if (atServer > AGENTS) {
  problems.duplicateAgents += atServer - AGENTS
  notes.push(`the server holds ${atServer} agents for ${AGENTS} logins`)
}

// tokenProvider() failures, and time to a token after the server is back.
const outages = killer.outages
const allLines = slots.flatMap((slot) => slot.processes.map((agent) => ({ slot, lines: agent.lines })))
const failures = allLines.flatMap(({ lines }) => lines.filter((line) => line.event === 'tokenFailed' && (line.end as number) <= endedAt))
const avoidable = allLines.flatMap(({ slot, lines }) => avoidableFailures(lines.filter((line) => (line.end as number) <= endedAt), slot.name, outages, proxy.log, TIMEOUT_MS).map((line) => ({ slot, line })))
// Why each avoidable failure happened, from the proxy's log of the agent's token requests in its wait:
// - 'expired redelivery': a request passed and the server answered 200, and the call failed anyway (a
//   redelivered pair whose access token had already expired: expires_in 0);
// - 'no attempt': the agent sent no discovery or token request while it waited (the refresh backed off past the wait).
const causes = new Map<string, number>()
for (const { slot, line } of avoidable) {
  const sent = refreshRequests(proxy.log, slot.name, (line.start as number) - TIMEOUT_MS, line.end as number)
  const passed200 = sent.some((entry) => entry.request.path === '/oauth/token' && (entry.fault === null || typeof entry.fault === 'object') && answered.get(entry.request) === 200)
  const cause = sent.length === 0 ? 'no attempt' : passed200 ? 'expired redelivery' : 'other'
  causes.set(cause, (causes.get(cause) ?? 0) + 1)
}
const recoveries: number[] = []
const firstRefresh: number[] = []
for (const [index, outage] of outages.entries()) {
  const nextKill = outages[index + 1]?.killedAt ?? endedAt
  for (const { lines } of allLines) {
    for (const line of lines) {
      if (line.event === 'recovered' && line.now >= outage.upAt && line.now < nextKill && (line.since as number) <= outage.upAt) recoveries.push(line.now - outage.upAt)
    }
  }
  for (const slot of slots) {
    const refreshed = slot.processes.flatMap((agent) => agent.lines).find((line) => line.event === 'refreshed' && line.now >= outage.upAt && line.now < nextKill)
    if (refreshed) firstRefresh.push(refreshed.now - outage.upAt)
  }
}
const ms = (samples: number[]) => (samples.length === 0 ? '-' : `${summarize(samples).p50.toFixed(0)} / ${summarize(samples).p95.toFixed(0)} (n ${samples.length})`)
const spoiled = [...faults.values()].reduce((sum, n) => sum + n, 0)

console.log('\n| measure | value | target |')
console.log('| --- | ---: | ---: |')
console.log(`| run | ${((endedAt - startedAt) / 1000).toFixed(0)} s, ${AGENTS} agents | |`)
console.log(`| agent kills (SIGKILL) | ${agentKills} | |`)
console.log(`| server kills (SIGKILL) | ${outages.length} | |`)
console.log(`| server down, p50 / p95 ms | ${ms(outages.map((o) => o.upAt - o.killedAt))} | |`)
console.log(`| agent requests through the proxy | ${requests} | |`)
console.log(`| faults injected | ${spoiled} (${((100 * spoiled) / Math.max(1, requests)).toFixed(1)} %) | |`)
for (const [kind, count] of [...faults.entries()].sort()) console.log(`| - ${kind} | ${count} | |`)
console.log(`| sign-outs | ${problems.signOuts} | 0 |`)
console.log(`| lost sessions | ${problems.lostSessions} | 0 |`)
console.log(`| duplicate agents | ${problems.duplicateAgents} (server holds ${atServer} for ${AGENTS}) | 0 |`)
console.log(`| corrupt session files | ${problems.corruptFiles} | 0 |`)
console.log(`| agents that exited by themselves | ${problems.crashed} | 0 |`)
console.log(`| tokenProvider() failures, all | ${failures.length} | |`)
console.log(`| tokenProvider() failures while a token could have been had | ${avoidable.length} | 0 |`)
for (const [cause, count] of [...causes.entries()].sort()) console.log(`| - ${cause} | ${count} | |`)
console.log(`| server back → token again (agents that had none), p50 / p95 ms | ${ms(recoveries)} | |`)
console.log(`| server back → first refresh, p50 / p95 ms | ${ms(firstRefresh)} | |`)
for (const note of notes.slice(0, 20)) console.log(`  note: ${note}`)
for (const { slot, line } of avoidable.slice(0, 10)) {
  const start = line.start as number
  const around = proxy.log
    .filter((entry) => entry.request.headers['x-fault-agent'] === slot.name && entry.at >= start - 4_000 && entry.at <= (line.end as number) + 500)
    .map((entry) => `${entry.at - start} ms ${entry.request.path} ${entry.request.form.get('grant_type') ?? ''} ${entry.fault === null ? 'passed' : kindOf(entry.fault)} → ${answered.get(entry.request) ?? 'no answer'}`)
  console.log(`  avoidable: ${slot.name} ${JSON.stringify(line)}\n    its requests (ms from the call): ${around.join('; ')}`)
}

for (const slot of slots) for (const agent of slot.processes) await agent.kill()
await server.dispose()
await proxy.close()
await rm(dir, { recursive: true, force: true })
const missed = problems.signOuts + problems.lostSessions + problems.duplicateAgents + problems.corruptFiles + problems.crashed + avoidable.length
if (missed > 0) console.error(`\n${missed} zero target(s) missed`)
process.exit(missed === 0 ? 0 : 1)
