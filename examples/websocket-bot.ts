/**
 * A WebSocket bot that stays connected for as long as it runs.
 *
 * A LiveSocket opens the server's /ws with the current access token. When the
 * AuthManager rotates the token, the socket re-authenticates the open
 * connection in band: no reconnect, no lost message. If the server closes
 * with 4401 it refreshes and reconnects; after a drop it reconnects with
 * backoff; when the owner revokes the agent it stops for good.
 *
 * The reference server only echoes; your own server's messages would arrive
 * on `messages$` the same way.
 *
 *   node --import tsx examples/websocket-bot.ts [server URL]
 *
 * Env: COUNTERSIGN_SERVER (default http://127.0.0.1:4000), BOT_STORE (default
 * ./.countersign/websocket-bot.json), BOT_INTERVAL_MS (default 1000),
 * BOT_ECHOES (stop after this many replies; default: run until Ctrl-C).
 */
import { AuthManager, FileStore, LiveSocket, encodeEcho } from 'countersign'

const serverUrl = process.argv[2] ?? process.env.COUNTERSIGN_SERVER ?? 'http://127.0.0.1:4000'
const intervalMs = Number(process.env.BOT_INTERVAL_MS ?? 1000)
const echoes = process.env.BOT_ECHOES === undefined ? Infinity : Number(process.env.BOT_ECHOES)
const store = new FileStore(process.env.BOT_STORE ?? '.countersign/websocket-bot.json')
const auth = new AuthManager(serverUrl, store)

const resumed = await auth.resume()
if (resumed !== 'authenticated') {
  const handle = resumed ?? (await auth.register({ name: 'websocket bot' }))
  console.log(`approve this bot at ${handle.approvalUrl}`)
  await handle.waitForApproval()
}
console.log(`signed in as ${auth.agentId}`)

// Given the AuthManager itself (not just its tokenProvider), the socket hears of each rotation at once.
const socket = new LiveSocket({ url: new URL('/ws', serverUrl.replace(/^http/, 'ws')), auth })

socket.events$.subscribe((event) => {
  if (event.type === 'open') console.log(`connected (connection ${event.connectionId})`)
  if (event.type === 'reauthenticated') console.log(`token rotated: re-authenticated connection ${event.connectionId} in band`)
  if (event.type === 'disconnected') console.log(`disconnected (${event.failure.message}); reconnecting`)
  if (event.type === 'revoked') console.log('the owner revoked this agent; stopping')
})

let replies = 0
socket.messages$.subscribe((message) => {
  if (message.kind !== 'echo') return
  console.log(`echo ${String(message.id)}: ${JSON.stringify(message.data)}`)
  if (++replies >= echoes) void socket.close()
})

let sent = 0
const ticker = setInterval(() => {
  sent += 1
  // While the socket reconnects, sends wait in its queue and go out in order; they are rejected only once it has closed for good.
  socket.send(encodeEcho(sent, { text: `hello #${sent}` })).catch((error: Error) => {
    if (socket.state !== 'closed') console.error(`send ${sent} failed: ${error.message}`)
  })
}, intervalMs)

// Ctrl-C closes the socket (code 1000); the code below then runs and the process ends.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void socket.close())

const outcome = await socket.closed
clearInterval(ticker)
console.log(`closed (${outcome.reason}) after ${replies} echoes`)
auth.dispose()
await store.close()
process.exitCode = outcome.reason === 'closed' ? 0 : 1
