/**
 * The waiting experience shared by `register`, `login`, `watch` and `demo`:
 * the approval URL, the user code and a QR code of the URL, then a spinner
 * with the poll attempts and the time left until a human decides.
 *
 * The spinner runs only when both stdout and stderr are terminals and the
 * output is not JSON; otherwise one line says what is awaited, and in JSON
 * mode every poll attempt is an event.
 */
import type { Ora } from 'ora'
import type { ApprovalHandle } from '../auth/index.js'
import type { Output } from './output.js'
import { clockTime, duration, isoTime } from './time.js'

export interface ApprovalView {
  readonly approvalUrl: string
  readonly userCode: string
  readonly agentId: string | null
  readonly expiresAt: number
}

export interface ShowApprovalOptions {
  /** Print a QR code of the URL (only on a terminal, never in JSON mode). */
  qr: boolean
}

export async function showApproval(output: Output, approval: ApprovalView, options: ShowApprovalOptions): Promise<void> {
  output.event(
    'approvalStarted',
    { approvalUrl: approval.approvalUrl, userCode: approval.userCode, agentId: approval.agentId, expiresAt: isoTime(approval.expiresAt) },
    'Approve this agent in a browser:',
  )
  output.line(`  approval URL: ${approval.approvalUrl}`)
  output.line(`  user code:    ${approval.userCode}`)
  if (approval.agentId !== null) output.line(`  agent id:     ${approval.agentId}`)
  output.line(`  expires:      ${clockTime(approval.expiresAt)}`)
  if (options.qr && !output.json && isTerminal(output.streams.out)) {
    // ora and qrcode-terminal are loaded only when drawn: commands that never wait start faster.
    const { default: qrcode } = await import('qrcode-terminal')
    qrcode.generate(approval.approvalUrl, { small: true }, (code) => output.line(code))
  }
}

export type WaitOutcome = { kind: 'approved' } | { kind: 'stopped' }

export interface WaitOptions {
  /** Resolves when the command must stop waiting (a signal); the approval then stays pending in the store. */
  stop: Promise<unknown>
  /** Give up after this long: ApprovalTimeoutError. */
  timeoutMs?: number
}

/**
 * Waits for the decision with progress. Resolves `approved` once the tokens
 * are saved, `stopped` when `stop` came first; rejects with the runtime's
 * errors (denied, expired, timeout).
 */
export async function waitWithProgress(handle: ApprovalHandle, output: Output, options: WaitOptions): Promise<WaitOutcome> {
  const spinner = await startSpinner(output, handle.expiresAt)
  if (spinner === null && !output.json) output.line(`Waiting for approval (the request expires ${clockTime(handle.expiresAt)}) ...`)
  // A poll already under way when the wait is stopped must not print after the command's last line.
  let over = false
  const waiting = handle.waitForApproval({
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    onPollAttempt: (attempt) => {
      if (over) return
      spinner?.attempt(attempt.attempt)
      if (output.json) output.event('pollAttempt', { attempt: attempt.attempt, at: isoTime(attempt.at), expiresAt: isoTime(handle.expiresAt) }, '')
    },
  })
  // Whichever loses the race must not become an unhandled rejection.
  waiting.catch(() => {})
  try {
    const outcome = await Promise.race([waiting.then((): WaitOutcome => ({ kind: 'approved' })), options.stop.then((): WaitOutcome => ({ kind: 'stopped' }))])
    spinner?.finish(outcome.kind === 'approved' ? 'Approved.' : null)
    return outcome
  } catch (error) {
    spinner?.finish(null)
    throw error
  } finally {
    over = true
  }
}

interface ProgressSpinner {
  attempt(n: number): void
  /** Stops the spinner: with a success line, or leaving nothing behind. */
  finish(success: string | null): void
}

async function startSpinner(output: Output, expiresAt: number): Promise<ProgressSpinner | null> {
  if (output.json || !isTerminal(output.streams.out) || !isTerminal(output.streams.err)) return null
  const { default: ora } = await import('ora')
  let attempts = 0
  const text = () => `Waiting for approval · ${attempts === 0 ? 'starting' : `poll ${attempts}`} · expires in ${duration(expiresAt - Date.now())}`
  // discardStdin would put the terminal in raw mode, where Ctrl-C no longer raises SIGINT by itself.
  // hideCursor would load signal-exit, which re-raises a signal once our one-shot handler is gone and
  // kills the process in the middle of its clean stop.
  const spinner: Ora = ora({ text: text(), stream: output.streams.err, discardStdin: false, hideCursor: false, isEnabled: true }).start()
  const tick = setInterval(() => (spinner.text = text()), 1000)
  return {
    attempt(n) {
      attempts = n
      spinner.text = text()
    },
    finish(success) {
      clearInterval(tick)
      if (success === null) spinner.stop()
      else spinner.succeed(success)
    },
  }
}

function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as NodeJS.WriteStream).isTTY === true
}
