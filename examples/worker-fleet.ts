/**
 * A fleet: many agents in one process, each with its own session file, all
 * kept signed in by their own AuthManager.
 *
 * Self-contained: it starts the reference server in this process with an
 * owner, and that owner approves every agent through the owner API, so it
 * runs unattended. Against a real deployment a human approves each agent once
 * (`countersign register`), and the session files keep them signed in after.
 *
 *   node --import tsx examples/worker-fleet.ts [count]
 *
 * Env: FLEET_SIZE (default 1000), FLEET_ACCESS_TTL (seconds, default 60: the
 * server's access-token lifetime, short so that every agent refreshes within
 * a minute or so). Session files go to a fresh temp folder, removed at the end.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AuthManager, FileStore } from 'countersign'
import { createServer } from 'countersign/server'

const size = Number(process.argv[2] ?? process.env.FLEET_SIZE ?? 1000)
const accessTtl = Number(process.env.FLEET_ACCESS_TTL ?? 60)
if (!Number.isInteger(size) || size < 1) throw new TypeError('the fleet size must be a positive integer')
if (!(accessTtl >= 1)) throw new TypeError('FLEET_ACCESS_TTL must be a number of seconds ≥ 1')

const dir = await mkdtemp(join(tmpdir(), 'countersign-fleet-'))
const owner = { email: 'fleet-owner@example.com', password: randomBytes(18).toString('base64url') }
// One address registering a whole fleet would trip the per-address limit meant for strangers.
const server = await createServer({ port: 0, accessTtl, owner, rateLimit: 2 * size + 100 })
const approve = await ownerApprover(server.url, owner)

const workers: { auth: AuthManager; store: FileStore }[] = []
const refreshed = new Set<number>()

async function startWorker(index: number): Promise<void> {
  const store = new FileStore(join(dir, `worker-${index}.json`))
  // Refreshes 60 s before expiry, or at half-life for tokens as short-lived as this demo's.
  const auth = new AuthManager(server.url, store)
  workers.push({ auth, store })
  auth.events$.subscribe((event) => {
    if (event.type === 'refreshed') refreshed.add(index)
  })
  const handle = await auth.register({ name: `worker ${index}` })
  await approve(handle.userCode)
  await handle.waitForApproval()
}

// A bounded number of sign-ins in flight: the fleet starts quickly without flooding the server.
let next = 0
const started = performance.now()
await Promise.all(Array.from({ length: Math.min(size, 50) }, async () => {
  while (next < size) await startWorker(next++)
}))
console.log(`${size} agents signed in in ${((performance.now() - started) / 1000).toFixed(1)} s; waiting for each to refresh`)

// Nothing here refreshes anything: each manager does it on its own schedule.
const deadline = Date.now() + accessTtl * 3000
while (refreshed.size < size && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200))

// Proof that every token in use is live: each agent asks the server who it is.
const answers = await Promise.all(workers.map(async ({ auth }) => {
  try {
    const response = await fetch(`${server.url}/api/agent/me`, { headers: { authorization: `Bearer ${await auth.tokenProvider()}` } })
    return response.ok
  } catch {
    return false
  }
}))
const live = answers.filter(Boolean).length
console.log(`fleet: ${size} agents signed in, ${refreshed.size} refreshed, ${live} answered /api/agent/me`)

for (const { auth, store } of workers) {
  auth.dispose()
  await store.close()
}
await server.close()
await rm(dir, { recursive: true, force: true })
process.exitCode = refreshed.size === size && live === size ? 0 : 1

/** Signs the owner in (protocol §6) and returns an approver: cookie session plus the CSRF header. */
async function ownerApprover(baseUrl: string, credentials: { email: string; password: string }): Promise<(userCode: string) => Promise<void>> {
  const session = await fetch(`${baseUrl}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(credentials) })
  if (!session.ok) throw new Error(`the owner could not sign in: ${session.status}`)
  const { csrf_token: csrf } = (await session.json()) as { csrf_token: string }
  const cookie = session.headers.getSetCookie().map((value) => value.split(';')[0]).join('; ')
  return async (userCode) => {
    const response = await fetch(`${baseUrl}/api/approvals/${encodeURIComponent(userCode)}/approve`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })
    if (!response.ok) throw new Error(`approving ${userCode} failed: ${response.status}`)
  }
}
