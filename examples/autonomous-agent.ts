/**
 * An autonomous agent: it asks a human once, then stays signed in.
 *
 * The first run registers the agent and prints an approval URL; once a human
 * approves it there, the agent calls an API with its token. Its session is
 * kept in a file, so every later run starts signed in with no new approval,
 * and a run stopped while waiting picks up the same approval request.
 *
 *   node --import tsx examples/autonomous-agent.ts [server URL]
 *
 * Env: COUNTERSIGN_SERVER (default http://127.0.0.1:4000, the server
 * `npm start` runs), AGENT_STORE (default ./.countersign/autonomous-agent.json),
 * AGENT_NAME (default "autonomous agent").
 */
import { AuthManager, CountersignError, FileStore, createHttpClient } from 'countersign'

const serverUrl = process.argv[2] ?? process.env.COUNTERSIGN_SERVER ?? 'http://127.0.0.1:4000'
// A FileStore writes with mode 0600 and locks the file: one process at a time owns this session.
const store = new FileStore(process.env.AGENT_STORE ?? '.countersign/autonomous-agent.json')
const auth = new AuthManager(serverUrl, store)

try {
  // Signed in already ('authenticated'), an approval still pending from an earlier run (a handle), or nothing (null).
  const resumed = await auth.resume()
  if (resumed === 'authenticated') {
    console.log(`resumed the saved session of ${auth.agentId}`)
  } else {
    const handle = resumed ?? (await auth.register({ name: process.env.AGENT_NAME ?? 'autonomous agent' }))
    console.log(`approve this agent at ${handle.approvalUrl}`)
    console.log(`(or enter the code ${handle.userCode} at ${handle.verificationUri})`)
    // Long-polls where the server offers it, so the approval is seen within one round trip of the click.
    await handle.waitForApproval({ timeoutMs: 15 * 60_000 })
    console.log(`approved: signed in as ${auth.agentId}`)
  }

  // The client adds the current token to each request and, on a 401, refreshes once and retries.
  const api = createHttpClient({ baseUrl: serverUrl, auth })
  const response = await api.fetch('/api/agent/me')
  if (!response.ok) throw new Error(`GET /api/agent/me answered ${response.status}`)
  const me = (await response.json()) as { agent_id: string; name: string; username: string; scope: string }
  console.log(`the server says: ${me.name} (@${me.username}, ${me.agent_id}), scope "${me.scope}"`)
} catch (error) {
  // Stable codes (approval_denied, approval_expired, network_error, ...) are what a program branches on.
  if (error instanceof CountersignError) console.error(`failed (${error.code}): ${error.message}`)
  else console.error(`failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
} finally {
  // Stops the refresh timer and releases the file lock, so the process can exit.
  auth.dispose()
  await store.close()
}
