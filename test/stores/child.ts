/**
 * Drives test/stores/fixtures/store-process.ts in a real child process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('./fixtures/store-process.ts', import.meta.url))

export interface Reply {
  ok: boolean
  code?: string
  message?: string
  [key: string]: unknown
}

export class StoreProcess {
  readonly pid: number
  readonly #child: ChildProcess
  readonly #waiting: Array<(reply: Reply) => void> = []
  readonly exited: Promise<number | null>

  private constructor(child: ChildProcess) {
    this.#child = child
    this.pid = child.pid!
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    createInterface({ input: child.stdout! }).on('line', (line) => this.#waiting.shift()?.(JSON.parse(line) as Reply))
  }

  /** Starts the fixture and waits until it reads commands. */
  static async start(): Promise<StoreProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['pipe', 'pipe', 'inherit'] })
    const started = new StoreProcess(child)
    const ready = await started.#next()
    if (!ready.ok) throw new Error(`the store process did not start: ${JSON.stringify(ready)}`)
    return started
  }

  /** Sends one command; resolves with its answer. */
  send(command: Record<string, unknown>): Promise<Reply> {
    const reply = this.#next()
    this.#child.stdin!.write(JSON.stringify(command) + '\n')
    return reply
  }

  #next(): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.#waiting.push(resolve)
      this.exited.then(() => reject(new Error('the store process exited')), () => {})
    })
  }

  /** kill -9: no cleanup of any kind runs in the child. */
  async killHard(): Promise<void> {
    this.#child.kill('SIGKILL')
    await this.exited
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    this.#child.kill('SIGTERM')
    await this.exited
  }
}
