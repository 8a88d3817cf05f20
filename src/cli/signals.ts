/**
 * Waiting for Ctrl-C or a termination request, without leaving listeners behind.
 */
export function untilSignal(signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handlers = signals.map((signal) => {
      const handler = () => {
        for (const [name, fn] of handlers) process.off(name, fn)
        resolve(signal)
      }
      process.on(signal, handler)
      return [signal, handler] as const
    })
  })
}
