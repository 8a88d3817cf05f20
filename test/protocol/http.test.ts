import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { AbortError, ErrorCodes, NetworkError } from '../../src/errors.js'
import { processRefreshTokenResponse, refreshTokenGrantRequest } from '../../src/protocol/refresh.js'
import type { ServerMetadata } from '../../src/protocol/types.js'
import { countersignMetadata } from './answers.js'

let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  server = undefined
})

async function serve(handler: Parameters<typeof createServer>[1]): Promise<ServerMetadata> {
  server = createServer(handler)
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { ...countersignMetadata, issuer: base, tokenEndpoint: `${base}/oauth/token` }
}

const params = { refreshToken: 'rt-secret', clientId: 'c' }

describe('requests over real sockets', () => {
  it('turns a refused connection into NetworkError naming the endpoint but no token', async () => {
    const metadata = await serve(() => {})
    await new Promise((resolve) => server!.close(resolve))
    server = undefined
    const error = await refreshTokenGrantRequest(metadata, params).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect(error).toMatchObject({ code: ErrorCodes.NETWORK_ERROR })
    expect((error as Error).message).toMatch(/^could not reach the token endpoint \(http:\/\/127\.0\.0\.1:\d+\/oauth\/token\): fetch failed$/)
    expect((error as Error).message).not.toContain('rt-secret')
  })

  it('turns a connection reset before the answer into NetworkError', async () => {
    const metadata = await serve((req) => req.socket.destroy())
    await expect(refreshTokenGrantRequest(metadata, params)).rejects.toMatchObject({ name: 'NetworkError', code: ErrorCodes.NETWORK_ERROR })
  })

  it('turns a body cut off halfway into NetworkError', async () => {
    const metadata = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' })
      res.write('{"access_token":"at')
      setTimeout(() => res.socket?.destroy(), 20)
    })
    const response = await refreshTokenGrantRequest(metadata, params)
    const error = await processRefreshTokenResponse(response, { now: 0 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect((error as Error).message).toBe('the answer of the token endpoint was cut off')
  })

  it('rejects with AbortError when the caller aborts, and the server sees the request go away', async () => {
    let closed!: () => void
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve))
    const metadata = await serve((req) => req.socket.on('close', closed))
    const controller = new AbortController()
    const pending = refreshTokenGrantRequest(metadata, params, { signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    const error = await pending.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect(error).toMatchObject({ code: ErrorCodes.ABORTED, message: 'the request to the token endpoint was aborted' })
    await serverSawClose
  })

  it('reports a timeout signal as a transient NetworkError, not an abort', async () => {
    const metadata = await serve(() => {})
    const error = await refreshTokenGrantRequest(metadata, params, { signal: AbortSignal.timeout(30) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect((error as Error).message).toMatch(/^the request to the token endpoint \(http:\/\/127\.0\.0\.1:\d+\/oauth\/token\) timed out$/)
  })
})
