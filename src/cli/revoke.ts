/**
 * `countersign revoke`: revokes the session at the server (RFC 7009) and
 * clears it from the store; a pending approval is cancelled. The local
 * session is cleared even when the server cannot be reached; the exit code
 * (5) says the server did not confirm.
 */
import type { Command } from 'commander'
import { NetworkError } from '../errors.js'
import { ExitCode } from './exit-codes.js'
import type { GlobalOptions } from './global-options.js'
import { createOutput } from './output.js'
import { issuerOf, noSessionOf, openSession, peekSession, storePathOf, withStoreOption, type AgentSession, type StoreOptions } from './session.js'

export function revokeCommand(program: Command, setExitCode: (code: number) => void): Command {
  return withStoreOption(program.command('revoke').description('revoke the session at the server and clear it from the store')).action(async (options: StoreOptions, command: Command) => {
    const output = createOutput(command.optsWithGlobals<GlobalOptions>())
    const storePath = storePathOf(options)
    let session: AgentSession | null = null
    try {
      const record = await peekSession(storePath, output)
      const issuer = issuerOf(record, storePath)
      session = await openSession(storePath, issuer, output)
      const { auth } = session
      const resumed = await auth.resume()
      if (resumed === null) throw await noSessionOf(auth, storePath)
      const agentId = auth.agentId
      let confirmed = true
      const revoked = auth.events$.subscribe((event) => {
        if (event.type === 'revoked') confirmed = event.confirmed
      })
      try {
        await auth.revoke()
        // The event is delivered asynchronously; a timer later it has arrived.
        await new Promise((resolve) => setTimeout(resolve, 0))
      } finally {
        revoked.unsubscribe()
      }
      const what = resumed === 'authenticated' ? `the session of agent ${agentId ?? '(unknown)'}` : `the pending approval${agentId ? ` of agent ${agentId}` : ''}`
      output.event(
        'revoked',
        { agentId, server: issuer, confirmed, wasPending: resumed !== 'authenticated', store: storePath },
        confirmed ? `Revoked ${what} at ${issuer} and cleared ${storePath}.` : `Cleared ${what} from ${storePath}.`,
      )
      if (!confirmed) {
        return setExitCode(output.fail(new NetworkError(`the local session was cleared, but the server at ${issuer} did not confirm the revocation; its tokens stay valid until they expire`)))
      }
      setExitCode(ExitCode.OK)
    } catch (error) {
      setExitCode(output.fail(error))
    } finally {
      await session?.close()
    }
  })
}
