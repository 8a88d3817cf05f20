/**
 * Waiting for Ctrl-C or a termination request. Listening starts when the
 * watcher is made, so a signal that arrives while a command is still starting
 * is kept, not lost to the default action (which would kill the process
 * without cleaning up).
 *
 * One Ctrl-C can arrive twice: a terminal sends it to the whole foreground
 * process group, and `npm start` forwards the one it got to the program as
 * well. A repeat within REPEAT_WINDOW_MS of the first signal is that same
 * request and is ignored, up to after dispose(), while the command closes
 * what it opened. A later signal ends the process the way it would without
 * the watcher, for a person whose clean stop takes too long.
 */
export interface SignalWatcher {
  /** Resolves with the first signal received. */
  readonly received: Promise<NodeJS.Signals>
  /** Stops listening (still absorbing the repeat of a signal just received). Idempotent. */
  dispose(): void
}

/** How soon after the first signal a repeat counts as the same request. */
export const REPEAT_WINDOW_MS = 1_000

export function watchSignals(signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'], { repeatWindowMs = REPEAT_WINDOW_MS }: { repeatWindowMs?: number } = {}): SignalWatcher {
  let resolve!: (signal: NodeJS.Signals) => void
  const received = new Promise<NodeJS.Signals>((done) => {
    resolve = done
  })
  let firstAt: number | null = null
  let listening = true
  const stopListening = () => {
    if (!listening) return
    listening = false
    for (const [name, fn] of handlers) process.off(name, fn)
  }
  const handlers = signals.map((signal) => {
    const handler = () => {
      if (firstAt === null) {
        firstAt = Date.now()
        resolve(signal)
      } else if (Date.now() - firstAt >= repeatWindowMs) {
        stopListening()
        process.kill(process.pid, signal)
      }
    }
    process.on(signal, handler)
    return [signal, handler] as const
  })
  const dispose = () => {
    const left = firstAt === null ? 0 : firstAt + repeatWindowMs - Date.now()
    if (left <= 0) return stopListening()
    // Unreferenced: absorbing a late repeat must not keep the process alive.
    setTimeout(stopListening, left).unref()
  }
  return { received, dispose }
}
