/**
 * Test support: a program running in a real terminal (a tmux pane), read
 * the way a person reads it (the screen and its scrollback) and driven with
 * keys (Ctrl-C). Terminal tests skip when tmux is missing, except in CI
 * (CI=true), where a missing tmux is a failure (.ci/run installs it).
 */
import { execFile, execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** True when terminal tests should be skipped: no tmux here, and not in CI. */
export const skipTerminalTests = !hasTmux() && process.env.CI !== 'true'

export interface TerminalOptions {
  cwd: string
  /** The program and its arguments. */
  command: string[]
  env?: Record<string, string>
  width?: number
  height?: number
}

export class Terminal {
  readonly #socket: string
  readonly #dir: string
  #closed = false

  private constructor(socket: string, dir: string) {
    this.#socket = socket
    this.#dir = dir
  }

  /** Starts the program in a new tmux server of its own. */
  static async start(options: TerminalOptions): Promise<Terminal> {
    const dir = await mkdtemp(join(tmpdir(), 'countersign-terminal-'))
    // A socket of its own in the temp folder: no clash with the user's tmux, and nothing left behind.
    const socket = join(dir, 'tmux.sock')
    const quoted = options.command.map(shellQuote).join(' ')
    const env = Object.entries(options.env ?? {}).flatMap(([name, value]) => ['-e', `${name}=${value}`])
    // tmux 3.3 does not always learn a pane's exit status (it can see the terminal close first), so a shell
    // writes it down. Its trap keeps it alive through Ctrl-C, and a trapped signal is reset to the default in
    // the program, which gets Ctrl-C exactly as from an interactive shell. A signal shows as 128 + its number.
    const script = `trap : INT; ${quoted}; echo $? > ${shellQuote(join(dir, 'status'))}`
    // -f /dev/null: the user's tmux.conf must not change what the test sees.
    await tmux(socket, ['-f', '/dev/null', 'new-session', '-d', '-s', 'main', '-x', String(options.width ?? 200), '-y', String(options.height ?? 60), '-c', options.cwd, ...env, script, ';', 'set-option', '-g', 'remain-on-exit', 'on', ';', 'set-option', '-g', 'history-limit', '10000'])
    return new Terminal(socket, dir)
  }

  /** Everything the pane shows and has scrolled away, wrapped lines joined. */
  async screen(): Promise<string> {
    const { stdout } = await tmux(this.#socket, ['capture-pane', '-p', '-J', '-S', '-', '-t', 'main'])
    return stdout
  }

  /** Resolves with the first match on the screen; rejects with the screen after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const screen = await this.screen()
      const match = screen.match(pattern)
      if (match) return match
      if (Date.now() > deadline) throw new Error(`no ${pattern} on the screen within ${timeoutMs} ms; the screen:\n${screen}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** Types keys as tmux names them: 'C-c' is Ctrl-C. */
  async sendKeys(...keys: string[]): Promise<void> {
    await tmux(this.#socket, ['send-keys', '-t', 'main', ...keys])
  }

  /** The program's exit status once it has exited (128 + the signal's number when a signal ended it). */
  async waitForExit(timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const status = await readFile(join(this.#dir, 'status'), 'utf8').catch(() => '')
      if (status.endsWith('\n')) return Number(status.trim())
      if (Date.now() > deadline) throw new Error(`the program did not exit within ${timeoutMs} ms; the screen:\n${await this.screen()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** Ends the tmux server (and the program, if it still runs). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await tmux(this.#socket, ['kill-server']).catch(() => {})
    await rm(this.#dir, { recursive: true, force: true })
  }
}

function tmux(socket: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('tmux', ['-S', socket, ...args], { encoding: 'utf8' })
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`
}
