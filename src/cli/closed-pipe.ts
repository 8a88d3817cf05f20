/**
 * The reader of the CLI's output went away (`countersign watch | head`):
 * writing to stdout or stderr then fails with EPIPE, which unhandled would
 * crash the process with a stack trace. The first such failure asks the
 * process to stop as a termination request does (commands that watch for
 * one close what they opened; others end at once), and the rest are
 * ignored: nobody reads them.
 */
let watching = false

export function stopOnClosedPipe(): void {
  if (watching) return
  watching = true
  let stopping = false
  const onError = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
    if (stopping) return
    stopping = true
    process.kill(process.pid, 'SIGTERM')
  }
  process.stdout.on('error', onError)
  process.stderr.on('error', onError)
}
