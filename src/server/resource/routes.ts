/**
 * Placeholder until this part of the server lands; registers no routes yet.
 */
import type { FastifyInstance } from 'fastify'
import type { ServerContext } from '../context.js'

export async function registerResource(_app: FastifyInstance, _ctx: ServerContext): Promise<void> {}
