/**
 * `countersign token`: prints a valid access token and nothing else on
 * stdout, refreshing it first when it is due, so that
 * `curl -H "Authorization: Bearer $(countersign token)" ...` works.
 * Exit 3 without a session (or while its approval is still pending), 5 when
 * the token is due and the server cannot be reached to refresh it.
 */
import type { Command } from 'commander'
import { firstValueFrom } from 'rxjs'
import { CountersignError, ErrorCodes, NetworkError } from '../errors.js'
import type { SessionRecord } from '../../stores/contract.js'
import { ExitCode } from './exit-codes.js'
import type { GlobalOptions } from './global-options.js'
import { createOutput, type Output } from './output.js'
import { isNetworkFailure, watchReachability } from './reachability.js'
import { issuerOf, isFileLocked, noSession, noSessionOf, openSession, peekSession, storePathOf, withStoreOption, type AgentSession, type StoreOptions } from './session.js'
import { isoTime } from './time.js'
import { storeFlag } from './approval-commands.js'

/**
 * A token handed out without a refresh (read from a store another process
 * holds, or kept while the server is down) must live at least this long.
 * A keeper refreshes at half the token's life, so a saved token normally
 * has far longer.
 */
const LOCKED_MIN_LIFETIME_MS = 1_000

export function tokenCommand(program: Command, setExitCode: (code: number) => void): Command {
  return withStoreOption(
    program.command('token').description('print a valid access token (refreshed if due) and nothing else, for use in scripts; exit 3 without a session'),
  ).action(async (options: StoreOptions, command: Command) => {
    const output = createOutput(command.optsWithGlobals<GlobalOptions>())
    const storePath = storePathOf(options)
    let session: AgentSession | null = null
    try {
      const record = await peekSession(storePath, output)
      const issuer = issuerOf(record, storePath)
      try {
        session = await openSession(storePath, issuer, output)
      } catch (error) {
        if (!isFileLocked(error)) throw error
        printToken(output, tokenOfLockedRecord(record!, storePath, error as CountersignError))
        return setExitCode(ExitCode.OK)
      }
      const { auth } = session
      const resumed = await auth.resume()
      if (resumed === null) throw await noSessionOf(auth, storePath)
      if (resumed !== 'authenticated') {
        throw new CountersignError(
          ErrorCodes.NOT_AUTHENTICATED,
          `the approval is still pending (open ${resumed.approvalUrl}, code ${resumed.userCode}); "countersign watch${storeFlag(options)}" waits for it`,
        )
      }
      const accessToken = await freshToken(session, storePath)
      const current = await firstValueFrom(auth.token$)
      printToken(output, { accessToken, expiresAt: current?.accessToken === accessToken ? current.expiresAt : null, agentId: auth.agentId })
      setExitCode(ExitCode.OK)
    } catch (error) {
      setExitCode(output.fail(error))
    } finally {
      await session?.close()
    }
  })
}

/**
 * The runtime's token, refreshed when due; with the server down, at once the
 * token that is still valid, or an error naming the server and the cause.
 */
async function freshToken({ auth, issuer }: AgentSession, storePath: string): Promise<string> {
  const reachability = watchReachability(auth, issuer)
  try {
    return await Promise.race([auth.tokenProvider(), reachability.unreachable])
  } catch (error) {
    if (!isNetworkFailure(error)) throw error
    const current = await firstValueFrom(auth.token$)
    // The runtime hands out a token that still lives while its refresh is retried; so does this command.
    if (current !== null && current.expiresAt !== null && current.expiresAt - Date.now() >= LOCKED_MIN_LIFETIME_MS) return current.accessToken
    const unreachable = await reachability.probe()
    if (unreachable === null) throw error
    const expired = current === null || current.expiresAt === null || current.expiresAt <= Date.now()
    throw new NetworkError(`${unreachable.message}: the access token ${expired ? 'expired' : 'is about to expire'} and could not be refreshed; the session stays saved in ${storePath}`, { cause: unreachable })
  } finally {
    reachability.stop()
  }
}

interface PrintedToken {
  accessToken: string
  expiresAt: number | null
  agentId: string | null
}

function printToken(output: Output, token: PrintedToken): void {
  if (output.json) output.event('token', { accessToken: token.accessToken, tokenType: 'Bearer', expiresAt: isoTime(token.expiresAt), agentId: token.agentId }, '')
  else output.data(token.accessToken)
}

/** Another live process holds the store and refreshes it: its token is good while it lives. */
function tokenOfLockedRecord(record: SessionRecord, storePath: string, locked: CountersignError): PrintedToken {
  const { accessToken, accessExpiresAt } = record
  if (accessToken === null) throw noSession(storePath, 'another process holds the store and it holds no token')
  if (accessExpiresAt !== null && accessExpiresAt - Date.now() < LOCKED_MIN_LIFETIME_MS) {
    throw new CountersignError(ErrorCodes.FILE_LOCKED, `${locked.message}, and the token it last saved is about to expire; try again in a moment`)
  }
  return { accessToken, expiresAt: accessExpiresAt, agentId: record.agentId }
}
