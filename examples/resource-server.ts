/**
 * An API of your own that accepts countersign access tokens.
 *
 * Each agent keeps private notes here. The guard checks the token (signature
 * against the issuer's published keys, issuer, audience, expiry, scope) and
 * answers refusals itself with RFC 6750 challenges; the `authorize` callback
 * is where this API decides what a valid token may do: an agent reaches its
 * own notes only.
 *
 *   node --import tsx examples/resource-server.ts [issuer URL]
 *
 * Env: COUNTERSIGN_SERVER the issuer (default http://127.0.0.1:4000, the
 * server `npm start` runs), PORT (default 4100; 0 picks a free one).
 * With an agent signed in through the CLI:
 *
 *   curl -H "Authorization: Bearer $(countersign token)" http://127.0.0.1:4100/whoami
 */
import Fastify, { type FastifyRequest } from 'fastify'
import { accessClaimsOf, createFastifyGuard, type AccessTokenClaims } from 'countersign/server'

const issuer = process.argv[2] ?? process.env.COUNTERSIGN_SERVER ?? 'http://127.0.0.1:4000'
const port = Number(process.env.PORT ?? 4100)

// The audience says the token was minted for APIs of this issuer; the scope is what the owner granted.
const anyAgent = createFastifyGuard({ issuer, audience: 'countersign', scope: 'agent' })
const ownNotesOnly = createFastifyGuard({
  issuer,
  audience: 'countersign',
  scope: 'agent',
  // A valid token proves who the agent is, not what it may touch: that is this API's call.
  authorize: (claims: AccessTokenClaims, request: FastifyRequest) => claims.sub === (request.params as { agentId?: string }).agentId,
})

const notes = new Map<string, string[]>()
const app = Fastify()

app.get('/health', async () => ({ ok: true }))

app.get('/whoami', { preHandler: anyAgent }, async (request) => {
  const claims = accessClaimsOf(request)!
  // Never echo the token itself: the claims say everything the caller needs.
  return { agent_id: claims.sub, owner: claims.owner, scope: claims.scope, expires_at: new Date(claims.exp * 1000).toISOString() }
})

app.get('/agents/:agentId/notes', { preHandler: ownNotesOnly }, async (request) => {
  const { agentId } = request.params as { agentId: string }
  return { notes: notes.get(agentId) ?? [] }
})

app.post('/agents/:agentId/notes', { preHandler: ownNotesOnly }, async (request, reply) => {
  const { agentId } = request.params as { agentId: string }
  const text = (request.body as { text?: unknown } | undefined)?.text
  if (typeof text !== 'string' || text.length === 0 || text.length > 1000) {
    return reply.code(400).send({ error: 'invalid_request', error_description: 'text must be a string of 1 to 1000 characters' })
  }
  const list = notes.get(agentId) ?? []
  list.push(text)
  notes.set(agentId, list)
  return reply.code(201).send({ notes: list })
})

const url = await app.listen({ host: '127.0.0.1', port })
console.log(`resource server listening on ${url}, accepting tokens of ${issuer}`)

// Stop on Ctrl-C or SIGTERM: close() lets requests in flight finish, then the process exits by itself.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close().then(() => console.log('resource server stopped'))
  })
}
