/**
 * Waiting for Ctrl-C or a termination request. Listening starts when the
 * watcher is made, so a signal that arrives while a command is still starting
 * is kept, not lost to the default action (which would kill the process
 * without cleaning up).
 */
export interface SignalWatcher {
  /** Resolves with the first signal received. */
  readonly received: Promise<NodeJS.Signals>
  /** Stops listening. Idempotent. */
  dispose(): void
}

export function watchSignals(signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): SignalWatcher {
  let resolve!: (signal: NodeJS.Signals) => void
  const received = new Promise<NodeJS.Signals>((done) => {
    resolve = done
  })
  const handlers = signals.map((signal) => {
    const handler = () => {
      dispose()
      resolve(signal)
    }
    process.on(signal, handler)
    return [signal, handler] as const
  })
  const dispose = () => {
    for (const [name, fn] of handlers) process.off(name, fn)
  }
  return { received, dispose }
}
