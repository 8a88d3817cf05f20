/**
 * `countersign status`: what the store holds. It picks the session up the
 * way the runtime does (a due refresh happens, an approval left pending by
 * `--no-wait` is shown, not waited for). Exit 0 when signed in or an
 * approval is pending, 3 when there is no session, 5 when a refresh is due
 * and the server cannot be reached (what the store holds is shown first).
 */
import type { Command } from 'commander'
import { firstValueFrom } from 'rxjs'
import type { Session } from '../auth/index.js'
import { NetworkError } from '../errors.js'
import type { SessionRecord } from '../../stores/contract.js'
import { ExitCode } from './exit-codes.js'
import type { GlobalOptions } from './global-options.js'
import { createOutput, type Output } from './output.js'
import { watchReachability } from './reachability.js'
import { isFileLocked, noSession, openSession, peekSession, storePathOf, withStoreOption, type AgentSession, type StoreOptions } from './session.js'
import { clockTime, isoTime } from './time.js'

/** How long status lets a refresh that the resume started finish before it reports. */
const SETTLE_MS = 10_000

interface StatusReport {
  state: string
  agentId: string | null
  server: string | null
  scope: string | null
  accessExpiresAt: number | null
  refreshExpiresAt: number | null
  refreshAt: number | null
  approval: { approvalUrl: string; userCode: string; expiresAt: number } | null
  failure: { code: string; message: string } | null
  store: string
  /** Another process holds the store's writer lock: the report is the file as that process last wrote it. */
  heldByAnotherProcess: boolean
  /** The refresh that was due could not reach the server: the probe's error. */
  unreachable: NetworkError | null
}

export function statusCommand(program: Command, setExitCode: (code: number) => void): Command {
  return withStoreOption(program.command('status').description("show the session's state, agent, expiries and store (exit 3 when there is none)")).action(
    async (options: StoreOptions, command: Command) => {
      const output = createOutput(command.optsWithGlobals<GlobalOptions>())
      const storePath = storePathOf(options)
      let session: AgentSession | null = null
      try {
        const record = await peekSession(storePath, output)
        let report: StatusReport
        if (record === null || record.issuer === null) report = emptyReport(storePath)
        else {
          try {
            session = await openSession(storePath, record.issuer, output)
          } catch (error) {
            if (!isFileLocked(error)) throw error
          }
          report = session === null ? reportOfRecord(record, storePath) : reportOfSession(await settledSession(session), record.issuer, storePath)
        }
        print(output, report)
        if (report.unreachable !== null) {
          return setExitCode(output.fail(new NetworkError(`${report.unreachable.message}: the refresh that is due could not be made; the session stays saved in ${storePath}`, { cause: report.unreachable })))
        }
        if (report.state === 'signedOut') {
          return setExitCode(output.fail(noSession(storePath, report.failure ? `the last one ended: ${report.failure.message}` : undefined)))
        }
        setExitCode(ExitCode.OK)
      } catch (error) {
        setExitCode(output.fail(error))
      } finally {
        await session?.close()
      }
    },
  )
}

/** The session once the resume's work is done, or as it is when the refresh it started cannot reach the server. */
async function settledSession({ auth, issuer }: AgentSession): Promise<{ session: Session; unreachable: NetworkError | null }> {
  const reachability = watchReachability(auth, issuer)
  try {
    await auth.resume()
    const deadline = Date.now() + SETTLE_MS
    for (;;) {
      const current = await firstValueFrom(auth.session$)
      // A restored approval past its expiry is ended by the runtime's own timer a moment later.
      const expiring = current.state === 'pendingApproval' && current.approval !== null && current.approval.expiresAt <= Date.now()
      // A refresh that is due starts on the runtime's timer a moment after the resume.
      const due = current.state === 'authenticated' && current.refreshAt !== null && current.refreshAt <= Date.now()
      const busy = expiring || due || current.state === 'refreshing' || current.state === 'authenticating' || current.state === 'starting' || current.state === 'revoking'
      if (!busy || Date.now() >= deadline) return { session: current, unreachable: null }
      const unreachable = await Promise.race([reachability.unreachable, new Promise<null>((resolve) => setTimeout(resolve, 50, null))]).catch((error: NetworkError) => error)
      if (unreachable !== null) return { session: await firstValueFrom(auth.session$), unreachable }
    }
  } finally {
    reachability.stop()
  }
}

function emptyReport(store: string): StatusReport {
  return { state: 'signedOut', agentId: null, server: null, scope: null, accessExpiresAt: null, refreshExpiresAt: null, refreshAt: null, approval: null, failure: null, store, heldByAnotherProcess: false, unreachable: null }
}

function reportOfSession({ session, unreachable }: { session: Session; unreachable: NetworkError | null }, server: string, store: string): StatusReport {
  return {
    state: session.state,
    agentId: session.agentId,
    server,
    scope: session.scope,
    accessExpiresAt: session.accessExpiresAt,
    refreshExpiresAt: session.refreshExpiresAt,
    refreshAt: session.refreshAt,
    approval: session.approval,
    failure: session.failure,
    store,
    heldByAnotherProcess: false,
    unreachable,
  }
}

/** Without the lock only the record is known: tokens mean signed in; the machine's state stays the other process's. */
function reportOfRecord(record: SessionRecord, store: string): StatusReport {
  return {
    ...emptyReport(store),
    state: record.accessToken !== null ? 'authenticated' : 'unknown',
    agentId: record.agentId,
    server: record.issuer,
    scope: record.scope,
    accessExpiresAt: record.accessExpiresAt,
    refreshExpiresAt: record.refreshExpiresAt,
    heldByAnotherProcess: true,
  }
}

function print(output: Output, report: StatusReport): void {
  const { approval, failure } = report
  output.event(
    'status',
    {
      state: report.state,
      agentId: report.agentId,
      server: report.server,
      scope: report.scope,
      accessExpiresAt: isoTime(report.accessExpiresAt),
      refreshExpiresAt: isoTime(report.refreshExpiresAt),
      refreshAt: isoTime(report.refreshAt),
      approval: approval === null ? null : { approvalUrl: approval.approvalUrl, userCode: approval.userCode, expiresAt: isoTime(approval.expiresAt) },
      failure,
      store: report.store,
      heldByAnotherProcess: report.heldByAnotherProcess,
    },
    `state:    ${report.state}${report.heldByAnotherProcess ? ' (another process holds the store and keeps it fresh)' : ''}${report.unreachable ? ' (the server could not be reached)' : ''}`,
  )
  const field = (name: string, value: string | null) => {
    if (value !== null) output.line(`${`${name}:`.padEnd(10)}${value}`)
  }
  field('agent', report.agentId)
  field('server', report.server)
  field('scope', report.scope)
  field('access', report.accessExpiresAt === null ? null : `expires ${clockTime(report.accessExpiresAt)}`)
  field('refresh', report.refreshExpiresAt === null ? null : `expires ${clockTime(report.refreshExpiresAt)}`)
  field('next', report.refreshAt === null ? null : `refresh ${clockTime(report.refreshAt)}`)
  if (approval !== null) {
    field('approval', approval.approvalUrl)
    field('code', approval.userCode)
    field('expires', clockTime(approval.expiresAt))
  }
  if (failure !== null && report.state === 'signedOut') field('ended', failure.message)
  field('store', report.store)
}
