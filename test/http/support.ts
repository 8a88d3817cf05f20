/**
 * A small real HTTP server for the cases the reference server has no route
 * for (POST bodies, answers that never come): it records every request with
 * its headers and body, and answers with `respond`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  url: string
  authorization: string | undefined
  contentType: string | undefined
  body: Buffer
}

export interface TinyServer {
  url: string
  requests: RecordedRequest[]
  close(): Promise<void>
}

export async function startTinyServer(respond: (request: RecordedRequest, response: ServerResponse) => void): Promise<TinyServer> {
  const requests: RecordedRequest[] = []
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const recorded = {
        method: request.method ?? '',
        url: request.url ?? '',
        authorization: request.headers.authorization,
        contentType: request.headers['content-type'],
        body: Buffer.concat(chunks),
      }
      requests.push(recorded)
      respond(recorded, response)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Answers 200 with a JSON echo of what it received to `Bearer good`, and 401 with an RFC 6750 challenge to anything else. */
export function goodTokenOnly(request: RecordedRequest, response: ServerResponse): void {
  if (request.authorization !== 'Bearer good') {
    response.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token", error_description="the token is not good"', 'content-type': 'application/json' })
    response.end('{"error":"invalid_token"}')
    return
  }
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ path: request.url, body: request.body.toString('utf8') }))
}
