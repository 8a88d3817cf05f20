/**
 * `countersign register` and `countersign login`: ask a human to approve,
 * show the approval, and wait for the decision (or, with `--no-wait`, leave
 * the approval pending in the store for `watch` to pick up).
 */
import type { Command } from 'commander'
import type { ApprovalHandle } from '../auth/index.js'
import { CountersignError, ErrorCodes } from '../errors.js'
import { ExitCode } from './exit-codes.js'
import type { GlobalOptions } from './global-options.js'
import { createOutput, type Output } from './output.js'
import { nonEmpty, scopes, seconds, url } from './parse.js'
import { reachServer } from './server-check.js'
import { holdsCredentials, openSession, peekSession, storePathOf, withStoreOption, type AgentSession, type StoreOptions } from './session.js'
import { watchSignals } from './signals.js'
import { showApproval, waitWithProgress } from './approval.js'
import { clockTime, isoTime } from './time.js'

interface ApprovalOptions extends StoreOptions {
  server: string
  scope?: string
  wait: boolean
  timeout?: number
  qr: boolean
}

interface RegisterOptions extends ApprovalOptions {
  name: string
  username?: string
}

interface LoginOptions extends ApprovalOptions {
  agentId?: string
  username?: string
}

function approvalOptions(command: Command): Command {
  withStoreOption(command)
  return command
    .requiredOption('--server <url>', 'the approval server, e.g. http://127.0.0.1:4000', url('--server'))
    .option('--scope <scopes>', 'space-separated scopes to ask for', scopes('--scope'))
    .option('--no-wait', 'print the approval and exit; `countersign watch` waits for it later')
    .option('--timeout <seconds>', 'give up waiting after this long (exit code 4)', seconds('--timeout'))
    .option('--no-qr', 'do not print a QR code of the approval URL')
}

export function registerCommand(program: Command, setExitCode: (code: number) => void): Command {
  const command = program
    .command('register')
    .description('register a new agent: a human approves at a URL and becomes its owner')
    .requiredOption('--name <name>', "the agent's display name", nonEmpty('--name'))
    .option('--username <handle>', 'the handle wanted ([a-z0-9-], 3-40 characters); derived from the name when absent', nonEmpty('--username'))
  return approvalOptions(command).action(async (options: RegisterOptions, cmd: Command) => {
    const params = { name: options.name, ...(options.username === undefined ? {} : { username: options.username }), ...(options.scope === undefined ? {} : { scope: options.scope }) }
    setExitCode(await runApproval(cmd, options, true, (auth) => auth.register(params)))
  })
}

export function loginCommand(program: Command, setExitCode: (code: number) => void): Command {
  const command = program
    .command('login')
    .description("log in an existing agent: its owner approves at a URL")
    .option('--agent-id <id>', 'the agent to log in, by id', nonEmpty('--agent-id'))
    .option('--username <handle>', 'the agent to log in, by username', nonEmpty('--username'))
  return approvalOptions(command).action(async (options: LoginOptions, cmd: Command) => {
    if ((options.agentId === undefined) === (options.username === undefined)) {
      cmd.error('error: login needs exactly one of --agent-id ID or --username HANDLE', { exitCode: ExitCode.USAGE, code: 'countersign.usage' })
    }
    const who = options.agentId !== undefined ? { agentId: options.agentId } : { username: options.username! }
    const params = { ...who, ...(options.scope === undefined ? {} : { scope: options.scope }) }
    setExitCode(await runApproval(cmd, options, false, (auth) => auth.login(params)))
  })
}

async function runApproval(command: Command, options: ApprovalOptions, registering: boolean, start: (auth: AgentSession['auth']) => Promise<ApprovalHandle>): Promise<number> {
  const output = createOutput(command.optsWithGlobals<GlobalOptions>())
  // From the start: a Ctrl-C during the first requests must still close the store cleanly.
  const signals = watchSignals()
  const storePath = storePathOf(options)
  let session: AgentSession | null = null
  try {
    const metadata = await reachServer(options.server)
    // Both commands name the agent through protocol extensions (§2) that a plain RFC 8628 provider ignores.
    if (!metadata.agentRegistrationSupported) {
      throw new CountersignError(ErrorCodes.INVALID_RESPONSE, `the server at ${options.server} does not support countersign agent ${registering ? 'registration' : 'login'} (its discovery document lacks countersign_agent_registration_supported)`)
    }
    const existing = await peekSession(storePath, output)
    if (holdsCredentials(existing)) {
      throw new Error(`${storePath} already holds the session of agent ${existing!.agentId ?? '(unknown)'} at ${existing!.issuer ?? '(unknown server)'}; run "countersign revoke --store ${storePath}" first, or pass another --store`)
    }
    session = await openSession(storePath, options.server, output)
    const handle = await start(session.auth)
    await showApproval(output, handle, { qr: options.qr })
    if (!options.wait) {
      output.event(
        'pending',
        { agentId: handle.agentId, expiresAt: isoTime(handle.expiresAt), store: storePath },
        `Not waiting. The approval stays pending in ${storePath} until ${clockTime(handle.expiresAt)}; "countersign watch${storeFlag(options)}" waits for it.`,
      )
      return ExitCode.OK
    }
    const outcome = await waitWithProgress(handle, output, { stop: signals.received, ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout * 1000 }) })
    if (outcome.kind === 'stopped') {
      output.note(`Stopped. The approval stays pending in ${storePath}; "countersign watch${storeFlag(options)}" goes on waiting for it.`)
      return output.fail(new CountersignError(ErrorCodes.ABORTED, 'interrupted while waiting for approval'))
    }
    const auth = session.auth
    output.event(
      'authenticated',
      { agentId: auth.agentId, server: options.server, store: storePath },
      `Authenticated as agent ${auth.agentId ?? '(unknown)'} at ${options.server}. The session is saved in ${storePath}.`,
    )
    return ExitCode.OK
  } catch (error) {
    return output.fail(error)
  } finally {
    signals.dispose()
    await session?.close()
  }
}

/** The `--store` part of a command to suggest, quoted for a POSIX shell when it needs to be. */
export function storeFlag(options: StoreOptions): string {
  if (options.store === undefined) return ''
  return ` --store ${/^[\w@%+=:,./-]+$/.test(options.store) ? options.store : `'${options.store.replaceAll("'", "'\\''")}'`}`
}
