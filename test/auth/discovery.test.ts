/**
 * Discovery shared by every manager of an issuer, against a server that
 * accepts connections and never answers: a caller that stops waiting does
 * not fail the others, and once all have stopped the request is aborted and
 * its connection closed, so nothing keeps the process alive.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { forgetServerMetadata, serverMetadata } from '../../src/auth/discovery.js'
import { startChild } from '../support/process.js'

const UNANSWERED = fileURLToPath(new URL('./fixtures/unanswered.ts', import.meta.url))

describe('serverMetadata() against a server that never answers', () => {
  let server: Server | undefined
  const sockets: Socket[] = []

  afterEach(async () => {
    for (const socket of sockets) socket.destroy()
    sockets.length = 0
    await new Promise((resolve) => server?.close(resolve))
    server = undefined
    forgetServerMetadata()
  })

  async function silentServer(): Promise<string> {
    server = createServer((socket) => {
      sockets.push(socket)
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const address = server.address() as { port: number }
    return `http://127.0.0.1:${address.port}`
  }

  it('keeps one request for every caller: one that stops waiting is answered AbortError and the request goes on for the others', async () => {
    const issuer = await silentServer()
    const first = new AbortController()
    const second = new AbortController()
    const waits = [serverMetadata(issuer, undefined, first.signal), serverMetadata(issuer, undefined, second.signal)].map((wait) => wait.catch((error: unknown) => error))
    await expect.poll(() => sockets.length).toBe(1)
    const connection = sockets[0]!

    first.abort()
    expect(await waits[0]).toMatchObject({ name: 'AbortError' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(connection.destroyed).toBe(false)

    second.abort()
    expect(await waits[1]).toMatchObject({ name: 'AbortError' })
  })

  it('lets an agent process exit by itself when its manager is disposed while discovery goes unanswered', async () => {
    const issuer = await silentServer()
    const agent = startChild(process.execPath, ['--import', 'tsx', UNANSWERED, issuer])
    // Well before the 30 s the shared discovery request would otherwise stay open for.
    const exited = await Promise.race([agent.exited, new Promise((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000))])
    if (exited === 'still running after 10 s') agent.process.kill('SIGKILL')

    expect(exited).toEqual({ code: 0, signal: null })
    expect(JSON.parse(agent.stdout())).toMatchObject({ event: 'registerEnded', code: 'disposed' })
  })
})
