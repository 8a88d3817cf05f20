/**
 * Protocol §5: the reference server's own protected resources, the example
 * every client of countersign is tested against.
 *
 * - `GET /api/agent/me`: who the token's agent is.
 * - `GET /ws`: a WebSocket that lives as long as its token, renewed in band.
 *
 * Both need a live access token of this server with the scope `agent` or
 * `agent:read` (see access.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ServerContext } from '../context.js'
import { checkRequest, sendRefusal, type Granted } from './access.js'
import { LiveConnections } from './live-socket.js'

export const WEBSOCKET_PATH = '/ws'

export async function registerResource(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/api/agent/me', async (request, reply) => {
    const decision = await checkRequest(ctx, request)
    if (!decision.ok) return sendRefusal(reply, decision.refusal)
    const { agent, claims } = decision.granted
    reply.header('cache-control', 'no-store')
    return { agent_id: agent.id, name: agent.name, username: agent.username, owner: claims.owner, scope: claims.scope }
  })

  const connections = new LiveConnections(ctx, app.log)
  const stopFollowing = ctx.tokens.onFamilyRevoked((familyId) => connections.familyRevoked(familyId))
  app.addHook('preClose', async () => {
    stopFollowing()
    connections.closeAll()
  })

  /** The upgrade's check result, from the preHandler to the socket handler. */
  const grants = new WeakMap<FastifyRequest, Granted>()

  app.route({
    method: 'GET',
    url: WEBSOCKET_PATH,
    // Runs before the upgrade: a refusal is a plain HTTP answer, and no socket is opened.
    preHandler: async (request: FastifyRequest, reply: FastifyReply) => {
      const decision = await checkRequest(ctx, request)
      if (!decision.ok) return sendRefusal(reply, decision.refusal)
      grants.set(request, decision.granted)
    },
    handler: async (_request, reply) => {
      return reply.code(426).header('upgrade', 'websocket').send({ error: 'invalid_request', error_description: 'this endpoint needs a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket)' })
    },
    wsHandler: (socket, request) => {
      const granted = grants.get(request)
      grants.delete(request)
      if (!granted) {
        // Cannot happen through the preHandler; closing beats serving an unchecked socket.
        socket.close(1011, 'the connection was not authorized')
        return
      }
      connections.accept(socket, granted)
    },
  })
}
