/**
 * The CLI's probe of a server while the session refreshes: stop() gives up a
 * probe still waiting for its answer, so a server that accepts connections
 * and never answers does not keep a finished command alive until the probe's
 * time limit.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Subject } from 'rxjs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AuthManager } from '../../src/auth/index.js'
import { PROBE_TIMEOUT_MS, watchReachability } from '../../src/cli/reachability.js'
import { REPO_ROOT, startChild } from '../support/process.js'

const REACHABILITY = pathToFileURL(join(REPO_ROOT, 'dist/src/cli/reachability.js')).href

describe('watchReachability against a server that accepts connections and never answers', () => {
  let silent: Server
  let url: string
  const sockets = new Set<Socket>()

  beforeEach(async () => {
    silent = createServer((socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`
  })
  afterEach(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => silent.close(resolve))
  })

  it('stop() settles a probe in flight at once, with nothing reported', async () => {
    const session$ = new Subject<{ state: string }>()
    const watch = watchReachability({ session$ } as unknown as AuthManager, url)
    let reported: unknown = null
    watch.unreachable.catch((error: unknown) => (reported = error))
    session$.next({ state: 'refreshing' })
    const probing = watch.probe()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const started = Date.now()
    watch.stop()
    await expect(probing).resolves.toBeNull()
    expect(Date.now() - started).toBeLessThan(PROBE_TIMEOUT_MS / 3)
    expect(reported).toBeNull()
  })

  it('a process whose watch probed and was stopped exits at once, not when the probe would have timed out', async () => {
    const script = `
      const { Subject } = await import('rxjs')
      const { watchReachability } = await import(${JSON.stringify(REACHABILITY)})
      const session$ = new Subject()
      const watch = watchReachability({ session$ }, ${JSON.stringify(url)})
      session$.next({ state: 'refreshing' })
      setTimeout(() => { watch.stop(); console.log('stopped') }, 200)
    `
    const child = startChild(process.execPath, ['--input-type=module', '-e', script])
    await child.waitForLine(/^stopped$/)
    const stopped = Date.now()
    expect(await child.exited).toEqual({ code: 0, signal: null })
    expect(Date.now() - stopped).toBeLessThan(PROBE_TIMEOUT_MS / 3)
  })
})
