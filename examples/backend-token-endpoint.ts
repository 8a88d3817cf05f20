/**
 * A backend that hands its browser front end short-lived access tokens.
 *
 * The backend is the agent: it signs in once, keeps the session (refresh
 * token included) in its own file, and refreshes it. The browser asks
 * GET /token for `{ token, expiresIn }` (the authenticator shape browser SDKs
 * take), caches it until shortly before it expires, and sends it as a Bearer
 * token. The refresh token never leaves this process, so a leaked browser
 * token is worth at most one access-token lifetime.
 *
 * For a self-contained demo the API the page calls, /api/hello, lives here
 * too and verifies the token like any resource server would.
 *
 *   node --import tsx examples/backend-token-endpoint.ts [server URL]
 *
 * Env: COUNTERSIGN_SERVER (default http://127.0.0.1:4000), PORT (default
 * 4200; 0 picks a free one), BACKEND_STORE (default ./.countersign/backend.json).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { AuthManager, FileStore, authenticatorFor } from 'countersign'
import { createNodeGuard } from 'countersign/server'

const serverUrl = process.argv[2] ?? process.env.COUNTERSIGN_SERVER ?? 'http://127.0.0.1:4000'
const store = new FileStore(process.env.BACKEND_STORE ?? '.countersign/backend.json')
const auth = new AuthManager(serverUrl, store)

const resumed = await auth.resume()
if (resumed !== 'authenticated') {
  const handle = resumed ?? (await auth.register({ name: 'backend for the web app' }))
  console.log(`approve this backend at ${handle.approvalUrl}`)
  await handle.waitForApproval()
}

// getAuthToken() answers the current token and its seconds left, refreshing first when it is about to expire.
const authenticator = authenticatorFor(auth)
const guard = createNodeGuard({ issuer: serverUrl, audience: 'countersign', scope: 'agent' })

function send(response: ServerResponse, status: number, body: unknown): void {
  // no-store: a token must not sit in a browser or proxy cache after it was handed out.
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  response.end(JSON.stringify(body))
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname
  if (request.method === 'GET' && path === '/token') {
    // Authenticate your own users here. At least refuse other sites: browsers say where a request comes from.
    const site = request.headers['sec-fetch-site']
    if (site !== undefined && site !== 'same-origin') return send(response, 403, { error: 'forbidden', error_description: 'tokens are for this site only' })
    const { token, expiresIn } = await authenticator.getAuthToken()
    return send(response, 200, { token, expiresIn })
  }
  if (request.method === 'GET' && path === '/api/hello') {
    const claims = await guard(request, response)
    if (claims === null) return // the guard has answered 401 or 403 itself
    return send(response, 200, { hello: claims.sub, expires_at: new Date(claims.exp * 1000).toISOString() })
  }
  if (request.method === 'GET' && path === '/') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    return void response.end(PAGE)
  }
  send(response, 404, { error: 'not_found', error_description: `no route ${request.method} ${path}` })
}

// The front end: fetch a token when the cached one is close to expiry, then call the API with it.
const PAGE = `<!doctype html><meta charset="utf-8"><title>countersign front end</title>
<button id="call">Call /api/hello</button><pre id="out"></pre>
<script type="module">
let cached = null
async function getAuthToken() {
  if (cached && Date.now() < cached.renewAt) return cached.token
  const { token, expiresIn } = await (await fetch('/token')).json()
  cached = { token, renewAt: Date.now() + Math.max(0, expiresIn - 30) * 1000 }
  return token
}
document.querySelector('#call').onclick = async () => {
  const response = await fetch('/api/hello', { headers: { authorization: 'Bearer ' + (await getAuthToken()) } })
  document.querySelector('#out').textContent = JSON.stringify(await response.json(), null, 2)
}
</script>`

const server = createServer((request, response) => {
  handle(request, response).catch((error: Error) => send(response, 503, { error: 'temporarily_unavailable', error_description: error.message }))
})
server.listen(Number(process.env.PORT ?? 4200), '127.0.0.1', () => {
  const { port } = server.address() as { port: number }
  console.log(`backend listening on http://127.0.0.1:${port}`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close()
    server.closeAllConnections()
    auth.dispose()
    void store.close()
  })
}
