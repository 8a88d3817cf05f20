/**
 * The CLI's signal watcher in a process of its own, sent real signals: the
 * first one starts the clean stop, its repeat (Ctrl-C under `npm start`
 * arrives twice) is absorbed, a later one ends the process, and absorbing
 * never keeps the process alive.
 */
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT, startChild, type Child } from '../support/process.js'

const SIGNALS = pathToFileURL(join(REPO_ROOT, 'dist/src/cli/signals.js')).href

/** Waits for SIGINT, prints it, disposes the watcher, and stays up `lingerMs` before it prints "done". */
function watcher(repeatWindowMs: number, lingerMs: number): Child {
  const script = `
    const { watchSignals } = await import(${JSON.stringify(SIGNALS)})
    const watcher = watchSignals(['SIGINT'], { repeatWindowMs: ${repeatWindowMs} })
    // A signal listener alone keeps no process alive; the CLI's commands have their sockets and timers.
    const alive = setInterval(() => {}, 1000)
    console.log('watching')
    console.log('received ' + (await watcher.received))
    clearInterval(alive)
    watcher.dispose()
    setTimeout(() => console.log('done'), ${lingerMs})
  `
  return startChild(process.execPath, ['--input-type=module', '-e', script])
}

describe('watchSignals', () => {
  it('absorbs a repeat of the first signal, even after dispose, and the process exits as it would', async () => {
    const child = watcher(10_000, 200)
    await child.waitForLine(/^watching$/)
    child.process.kill('SIGINT')
    await child.waitForLine(/^received SIGINT$/)
    child.process.kill('SIGINT')
    const started = Date.now()
    expect(await child.exited).toEqual({ code: 0, signal: null })
    expect(child.stdout()).toBe('watching\nreceived SIGINT\ndone\n')
    // The 10 s window does not hold the process open.
    expect(Date.now() - started).toBeLessThan(3_000)
  })

  it('lets a signal after the repeat window end the process, as without the watcher', async () => {
    const child = watcher(50, 5_000)
    await child.waitForLine(/^watching$/)
    child.process.kill('SIGINT')
    await child.waitForLine(/^received SIGINT$/)
    await new Promise((resolve) => setTimeout(resolve, 150))
    child.process.kill('SIGINT')
    expect(await child.exited).toEqual({ code: null, signal: 'SIGINT' })
    expect(child.stdout()).toBe('watching\nreceived SIGINT\n')
  })
})
