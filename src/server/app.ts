/**
 * The Fastify application of the reference server: plugins, limits, error
 * shapes, and the route modules.
 */
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import websocket from '@fastify/websocket'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { registerConsole } from './console/routes.js'
import type { ServerContext } from './context.js'
import { registerDeviceAuthorization } from './oauth/device-authorization.js'
import { registerDiscovery } from './oauth/discovery.js'
import { registerRevoke } from './oauth/revoke.js'
import { registerToken } from './oauth/token.js'
import { registerOwnerApi } from './owner/routes.js'
import { WEBSOCKET_PATH, registerResource } from './resource/routes.js'

export const BODY_LIMIT = 64 * 1024

export async function buildApp(ctx: ServerContext): Promise<FastifyInstance> {
  const app = Fastify({
    logger: ctx.options.logger,
    bodyLimit: BODY_LIMIT,
    forceCloseConnections: true,
    return503OnClosing: true,
    // Only the proxies named are believed: request.ip (every per-address limit) and request.protocol (Secure cookies) follow their X-Forwarded-* headers.
    trustProxy: ctx.options.trustProxy.length > 0 ? ctx.options.trustProxy : false,
    // Query strings and bodies are ours to check; Fastify's own JSON schema coercion is not used.
    routerOptions: { maxParamLength: 200 },
    // Errors raised before routing (a URL that does not decode, an overlong path part) get the same shape as every other answer.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const description = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a part of the URL is longer than 200 characters' : 'the URL is not a valid URL: it has a malformed percent-encoding'
      const status = error.statusCode !== undefined && error.statusCode < 500 ? 400 : 500
      reply.code(status).send(status === 400 ? { error: 'invalid_request', error_description: description } : { error: 'server_error', error_description: 'the server failed to handle this request' })
    },
    // A message node's HTTP parser refuses never reaches Fastify's handlers; it too is answered in our shape.
    clientErrorHandler: answerUnparsableRequest,
  })

  app.server.on('connect', answerConnect)

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: null,
      },
    },
    // Plain-http loopback servers must not be pinned to https.
    strictTransportSecurity: false,
  })
  await app.register(formbody)
  await app.register(cookie)
  await app.register(rateLimit, { global: false })
  await app.register(websocket, {
    options: { maxPayload: BODY_LIMIT },
    // 1001 (going away) tells clients the server is stopping, so they reconnect rather than give up.
    preClose(this: FastifyInstance, done: () => void) {
      for (const client of this.websocketServer.clients) client.close(1001, 'server shutting down')
      this.websocketServer.close(() => done())
    },
  })

  // @fastify/websocket upgrades a request to any GET route and then closes the socket at once; only /ws is a WebSocket.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.ws || request.routeOptions.url === WEBSOCKET_PATH) return
    return reply.code(404).send({ error: 'not_found', error_description: `there is no WebSocket at ${request.url.split('?')[0]!.slice(0, 200)}; it is at ${WEBSOCKET_PATH}` })
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // RFC 6749 §5.2 and protocol §7: a body of a type we do not read is a malformed request, 400.
    const status = error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 400 : (error.statusCode ?? 500)
    if (status === 429) {
      return reply.code(429).send({ error: 'too_many_requests', error_description: `too many requests from this address; ${error.message.replace(/^Rate limit exceeded, /, '')}` })
    }
    if (status === 413) {
      return reply.code(413).send({ error: 'invalid_request', error_description: `the request body is larger than ${BODY_LIMIT / 1024} KiB` })
    }
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: 'invalid_request', error_description: describeClientError(error) })
    }
    request.log.error({ err: error }, 'unexpected error')
    return reply.code(500).send({ error: 'server_error', error_description: 'the server failed to handle this request' })
  })
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not_found', error_description: `there is no ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}` })
  })

  registerDiscovery(app, ctx)
  registerDeviceAuthorization(app, ctx)
  registerToken(app, ctx)
  registerRevoke(app, ctx)
  await registerOwnerApi(app, ctx)
  await registerConsole(app, ctx)
  await registerResource(app, ctx)
  return app
}

function answerUnparsableRequest(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, reason, description] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'the request headers are larger than the server accepts']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request did not arrive in time']
        : [400, 'Bad Request', 'the request is not a valid HTTP message']
  refuseOnSocket(socket, status, reason, description)
  socket.destroy(error)
}

/** Node hands CONNECT to a 'connect' listener, and without one drops the connection without a word. */
function answerConnect(_request: IncomingMessage, socket: Duplex): void {
  refuseOnSocket(socket, 400, 'Bad Request', 'CONNECT is not supported: this server is not a proxy')
  socket.end(() => socket.destroy())
}

/** Writes an answer in the error shape straight to a socket that Fastify does not handle, and asks to close. */
function refuseOnSocket(socket: Duplex, status: number, reason: string, description: string): void {
  if (!socket.writable) return
  const body = JSON.stringify({ error: 'invalid_request', error_description: description })
  socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

/** Fastify's own 4xx errors (bad JSON, unsupported media type, ...) in words a caller can act on. */
function describeClientError(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'the body has a content type this endpoint does not accept'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the body is empty but the content type says JSON'
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'the content-length header does not match the body'
    default:
      if (error instanceof SyntaxError || /JSON/i.test(error.message)) return 'the body is not valid JSON'
      return error.message.slice(0, 200)
  }
}
