/**
 * What register() and login() hand back: the approval a human is asked for,
 * and the wait for their decision.
 */
import { assertArgument } from '../errors.js'
import { errorOfFailure } from './failures.js'
import type { Flow, PollAttempt } from './flow.js'
import type { AuthRuntime } from './runtime.js'

/** Options of `handle.waitForApproval()`. */
export interface WaitForApprovalOptions {
  /** Poll at least this far apart, ms (never faster than the server asks). Default: the server's interval, or 3 s. */
  intervalMs?: number
  /** Give up after this long, ms: ApprovalTimeoutError. Default: until the approval request expires. */
  timeoutMs?: number
  /** Aborting it cancels the approval request: AbortError. */
  signal?: AbortSignal
  /** Called after each poll is sent. */
  onPollAttempt?: (attempt: PollAttempt) => void
}

/** An approval a human is asked for: what to show them, and the wait for their decision. */
export class ApprovalHandle {
  /** The URL a human opens to approve (with the user code filled in when the server supports it). */
  readonly approvalUrl: string
  /** The page where a human types the user code. */
  readonly verificationUri: string
  readonly userCode: string
  /** The agent the approval is for; null from a plain RFC 8628 provider. */
  readonly agentId: string | null
  /** When the approval request expires, epoch ms. */
  readonly expiresAt: number
  readonly #runtime: AuthRuntime
  readonly #flow: Flow

  /** @internal Handles come from AuthManager.register(), login() and resume(). */
  constructor(runtime: AuthRuntime, flow: Flow) {
    const approval = flow.approval
    if (approval === null) throw new TypeError('an ApprovalHandle needs a started approval')
    this.approvalUrl = approval.approvalUrl
    this.verificationUri = approval.verificationUri
    this.userCode = approval.userCode
    this.agentId = approval.agentId
    this.expiresAt = approval.expiresAt
    this.#runtime = runtime
    this.#flow = flow
  }

  /**
   * Polls until the human decides. Resolves once the tokens are saved and
   * the manager is authenticated; rejects with ApprovalDeniedError,
   * ApprovalExpiredError, ApprovalTimeoutError or AbortError. Waiting again
   * on a decided approval answers the same way at once.
   */
  waitForApproval(options: WaitForApprovalOptions = {}): Promise<void> {
    assertArgument(typeof options === 'object' && options !== null, 'options', 'an object')
    const { intervalMs, timeoutMs, signal, onPollAttempt } = options
    assertArgument(intervalMs === undefined || (typeof intervalMs === 'number' && Number.isFinite(intervalMs) && intervalMs > 0), 'options.intervalMs', 'a positive number of milliseconds')
    assertArgument(timeoutMs === undefined || (typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs >= 0), 'options.timeoutMs', 'a number of milliseconds ≥ 0')
    assertArgument(signal === undefined || signal instanceof AbortSignal, 'options.signal', 'an AbortSignal')
    assertArgument(onPollAttempt === undefined || typeof onPollAttempt === 'function', 'options.onPollAttempt', 'a function')
    return this.#wait(intervalMs, timeoutMs, signal, onPollAttempt)
  }

  async #wait(intervalMs: number | undefined, timeoutMs: number | undefined, signal: AbortSignal | undefined, onPollAttempt: WaitForApprovalOptions['onPollAttempt']): Promise<void> {
    const runtime = this.#runtime
    const flow = this.#flow
    const { clock } = runtime.config
    const abort = () => {
      if (flow.outcome === null && runtime.flow === flow) runtime.send({ type: 'ABORT', at: clock.now() })
    }
    if (flow.outcome === null) {
      if (onPollAttempt !== undefined) (flow.pollListeners ??= new Set()).add(onPollAttempt)
      try {
        if (signal?.aborted) abort()
        else {
          const at = clock.now()
          runtime.send({ type: 'WAIT', at, ...(intervalMs === undefined ? {} : { intervalMs }), ...(timeoutMs === undefined ? {} : { deadline: at + timeoutMs }) })
          signal?.addEventListener('abort', abort, { once: true })
        }
        await runtime.waitFor(() => flow.outcome !== null)
      } finally {
        signal?.removeEventListener('abort', abort)
        if (onPollAttempt !== undefined) flow.pollListeners?.delete(onPollAttempt)
      }
    }
    const failure = flow.outcome!.failure
    if (failure !== null) throw errorOfFailure(failure, failure.code === 'aborted' && signal?.aborted ? signal.reason : undefined)
  }
}
