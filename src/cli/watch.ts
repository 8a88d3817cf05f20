/**
 * `countersign watch`: follows the session live until Ctrl-C, refreshing it
 * as the runtime does and printing each refresh. An approval left pending
 * (`register --no-wait`, or a wait stopped by Ctrl-C) is waited for first,
 * with the same progress as `register`.
 */
import type { Command } from 'commander'
import { firstValueFrom } from 'rxjs'
import { CountersignError, ErrorCodes } from '../errors.js'
import { showApproval, waitWithProgress } from './approval.js'
import { storeFlag } from './approval-commands.js'
import { ExitCode } from './exit-codes.js'
import { FOLLOW_SIGNALS, followSession, type SessionFollower } from './follow.js'
import type { GlobalOptions } from './global-options.js'
import { createOutput } from './output.js'
import { seconds } from './parse.js'
import { issuerOf, noSessionOf, openSession, peekSession, storePathOf, withStoreOption, type AgentSession, type StoreOptions } from './session.js'
import { watchSignals } from './signals.js'
import { clockTime, isoTime } from './time.js'

interface WatchOptions extends StoreOptions {
  timeout?: number
  qr: boolean
}

export function watchCommand(program: Command, setExitCode: (code: number) => void): Command {
  return withStoreOption(program.command('watch').description("follow the session's refreshes live until Ctrl-C (waits for a pending approval first)"))
    .option('--timeout <seconds>', 'give up waiting for a pending approval after this long (exit code 4)', seconds('--timeout'))
    .option('--no-qr', 'do not print a QR code of a pending approval URL')
    .action(async (options: WatchOptions, command: Command) => {
      const output = createOutput(command.optsWithGlobals<GlobalOptions>())
      const signals = watchSignals(FOLLOW_SIGNALS)
      const storePath = storePathOf(options)
      let session: AgentSession | null = null
      let follower: SessionFollower | null = null
      try {
        const issuer = issuerOf(await peekSession(storePath, output), storePath)
        session = await openSession(storePath, issuer, output)
        const { auth } = session
        follower = followSession(auth, output)
        const resumed = await auth.resume()
        if (resumed === null) throw await noSessionOf(auth, storePath)
        if (resumed !== 'authenticated') {
          await showApproval(output, resumed, { qr: options.qr })
          const outcome = await waitWithProgress(resumed, output, { stop: signals.received, ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout * 1000 }) })
          if (outcome.kind === 'stopped') {
            output.note(`Stopped. The approval stays pending in ${storePath}; "countersign watch${storeFlag(options)}" goes on waiting for it.`)
            return setExitCode(output.fail(new CountersignError(ErrorCodes.ABORTED, 'interrupted while waiting for approval')))
          }
        }
        const current = await firstValueFrom(auth.session$)
        output.event(
          'following',
          { agentId: current.agentId, server: issuer, accessExpiresAt: isoTime(current.accessExpiresAt), refreshAt: isoTime(current.refreshAt), store: storePath },
          `Following the session of agent ${current.agentId ?? '(unknown)'} at ${issuer}` +
            `${current.accessExpiresAt === null ? '' : ` · the access token expires ${clockTime(current.accessExpiresAt)}`}. Ctrl-C stops.`,
        )
        const signal = await Promise.race([signals.received, follower.ended])
        output.event('stopped', { signal }, `Stopped (${signal}).`)
        setExitCode(ExitCode.OK)
      } catch (error) {
        setExitCode(output.fail(error))
      } finally {
        signals.dispose()
        follower?.stop()
        await session?.close()
      }
    })
}
