/**
 * `countersign demo` (= `npm start`): the whole story on one machine. It
 * starts the reference server with its data in ./.countersign/, creates a
 * local owner, and runs an agent with a FileStore that registers, waits for
 * the owner's approval, says who it is (/api/agent/me through the HTTP
 * client), keeps a LiveSocket open, and prints each refresh until Ctrl-C.
 * Run it again and the agent resumes its saved session without an approval.
 */
import type { Command } from 'commander'
import { AuthManager } from '../auth/index.js'
import { CountersignError, ErrorCodes } from '../errors.js'
import type { HttpClient } from '../http/client.js'
import type { LiveSocket, LiveSocketEvent } from '../live/socket.js'
import type { CountersignServer } from '../server/index.js'
import { FileStore } from '../../stores/file.js'
import { showApproval, waitWithProgress, type WaitOutcome } from './approval.js'
import { checkOwnerSignsIn, demoFiles, demoFirstPort, hasServerData, loadDemoSettings, saveDemoSettings, startDemoServer, withRecoveryHint, type DemoFiles } from './demo-setup.js'
import { ExitCode } from './exit-codes.js'
import { FOLLOW_SIGNALS, followSession, type SessionFollower } from './follow.js'
import type { GlobalOptions } from './global-options.js'
import { createOutput, type Output } from './output.js'
import { nonEmpty, port, seconds } from './parse.js'
import { runtimeLogger } from './session.js'
import { SettlingStore } from './settling-store.js'
import { watchSignals } from './signals.js'
import { clockTime, isoTime } from './time.js'

interface DemoOptions {
  accessTtl: number
  port?: number
  name: string
  qr: boolean
}

/** What /api/agent/me answers (protocol §5). */
interface AgentProfile {
  agent_id: string
  name: string
  username: string
  owner: string
  scope: string
}

export const DEMO_ACCESS_TTL = 30

export function demoCommand(program: Command, setExitCode: (code: number) => void): Command {
  return program
    .command('demo')
    .description('run server, owner and agent on this machine (data in ./.countersign): approve once, then watch the tokens stay fresh; Ctrl-C stops')
    .option('--access-ttl <seconds>', 'access token lifetime on the demo server, short so refreshes show', seconds('--access-ttl'), DEMO_ACCESS_TTL)
    .option('--port <port>', "the demo server's port (default: the last run's, or 4000 the first time ($COUNTERSIGN_DEMO_FIRST_PORT changes it); a free one when that is taken)", port)
    .option('--name <name>', "the demo agent's name", nonEmpty('--name'), 'Demo agent')
    .option('--no-qr', 'do not print a QR code of the approval URL')
    .action(async (options: DemoOptions, command: Command) => {
      setExitCode(await runDemo(options, createOutput(command.optsWithGlobals<GlobalOptions>())))
    })
}

async function runDemo(options: DemoOptions, output: Output): Promise<number> {
  // From the very start: Ctrl-C at any point closes what is open and exits 0.
  const signals = watchSignals(FOLLOW_SIGNALS)
  const stopped = signals.received
  const files = demoFiles()
  let server: CountersignServer | null = null
  let store: FileStore | null = null
  let settling: SettlingStore | null = null
  let auth: AuthManager | null = null
  let socket: LiveSocket | null = null
  let follower: SessionFollower | null = null
  try {
    const firstPort = demoFirstPort()
    const { settings, created } = await loadDemoSettings(files)
    const oldServerData = created && (await hasServerData(files))
    // New settings next to no server data are saved before the server starts, which writes their owner into its
    // data even when it then cannot listen; next to old data, only once the check below passes.
    if (created && !oldServerData) await saveDemoSettings(files, settings)
    const started = await startDemoServer(files, settings, { ...(options.port === undefined ? {} : { port: options.port }), firstPort, accessTtl: options.accessTtl })
    server = started.server
    if (oldServerData) await checkOwnerSignsIn(server.url, settings, files)
    const serverPort = Number(new URL(server.url).port)
    if (oldServerData || settings.port !== serverPort) await saveDemoSettings(files, { ...settings, port: serverPort })
    printServer(output, server, files, options.accessTtl, started.movedFrom)
    output.event(
      'owner',
      { email: settings.owner.email, password: settings.owner.password, created, file: files.settings },
      `  owner:     ${settings.owner.email}  password: ${settings.owner.password}  (${created ? 'new, ' : ''}saved in ${files.settings})`,
    )
    output.line('')

    store = new FileStore(files.agentStore, { onCorrupt: (error) => output.streams.err.write(`countersign: warning: ${error.message}; the agent starts over\n`) })
    await store.open()
    const previous = await store.load()
    settling = new SettlingStore(store)
    auth = new AuthManager(server.url, settling, { logger: runtimeLogger(output) })
    const movedFrom = previous?.issuer != null && previous.issuer !== server.url ? previous.issuer : null
    const signedIn = await signIn(auth, server.url, output, { name: options.name, qr: options.qr, stopped, movedFrom })
    if (signedIn === null) return stop(output, await stopped)
    const { profile, resumed } = signedIn
    output.event(
      'authenticated',
      { agentId: profile.agent_id, name: profile.name, username: profile.username, owner: profile.owner, scope: profile.scope, resumed },
      `Authenticated as ${profile.name} (@${profile.username}) · agent ${profile.agent_id} · owner ${profile.owner} · scope ${profile.scope}` +
        (resumed ? '\n  resumed the saved session: no approval needed' : ''),
    )

    follower = followSession(auth, output)
    const { LiveSocket } = await import('../live/socket.js')
    socket = new LiveSocket({ url: `${server.url.replace(/^http/, 'ws')}/ws`, auth })
    const liveSocket = socket
    liveSocket.events$.subscribe((event) => printSocketEvent(output, event))
    const socketEnded = liveSocket.closed.then((outcome) => {
      throw new CountersignError(outcome.reason === 'revoked' ? ErrorCodes.REVOKED : ErrorCodes.NOT_AUTHENTICATED, `the live socket closed for good (${outcome.reason}${outcome.failure ? `: ${outcome.failure.message}` : ''})`)
    })
    // After the race is decided (or when the demo closes the socket itself) this rejection is nobody's business.
    socketEnded.catch(() => {})
    const session = follower.session
    output.line(`The access token lives ${options.accessTtl} s; each refresh shows below${session?.refreshAt ? ` (next ${clockTime(session.refreshAt)})` : ''}. Ctrl-C stops.`)
    return stop(output, await Promise.race([stopped, follower.ended, socketEnded]))
  } catch (error) {
    return output.fail(withRecoveryHint(error, files))
  } finally {
    signals.dispose()
    follower?.stop()
    await socket?.close().catch(() => {})
    await settling?.settled()
    auth?.dispose()
    await store?.close().catch(() => {})
    await server?.close().catch(() => {})
  }
}

function stop(output: Output, signal: NodeJS.Signals): number {
  output.event('stopped', { signal }, `\nStopping (${signal}): the session stays saved in ${demoFiles().agentStore}; run the demo again to resume it.`)
  return ExitCode.OK
}

function printServer(output: Output, server: CountersignServer, files: DemoFiles, accessTtl: number, movedFrom: number | null): void {
  output.event('server', { url: server.url, console: `${server.url}/`, dataFile: files.serverData, accessTtl, movedFrom }, `countersign demo: server on ${server.url}`)
  if (movedFrom !== null) output.line(`  (port ${movedFrom} of the last run is taken; the saved session will be refreshed for the new address)`)
  output.line(`  console:   ${server.url}/`)
  output.line(`  data:      ${files.dir}`)
}

interface SignInOptions {
  name: string
  qr: boolean
  stopped: Promise<unknown>
  /** The address of the demo server that issued the saved tokens or approval, when it has moved since. */
  movedFrom: string | null
}

/**
 * Resumes the saved session, or waits for a pending approval, or registers.
 * A saved session or approval the server no longer knows (its data was
 * removed) is dropped once and the agent registers again. Null when stopped
 * meanwhile.
 */
async function signIn(auth: AuthManager, serverUrl: string, output: Output, options: SignInOptions): Promise<{ profile: AgentProfile; resumed: boolean } | null> {
  const { createHttpClient } = await import('../http/client.js')
  const client = createHttpClient({ baseUrl: serverUrl, auth })
  for (let attempt = 0; ; attempt++) {
    const resumed = await auth.resume()
    if (resumed !== 'authenticated') {
      const handle = resumed ?? (await auth.register({ name: options.name }))
      if (resumed === null) output.line(`Registered the agent "${options.name}".`)
      // A saved approval's URL names the address the server had when it was asked for.
      const approvalUrl = options.movedFrom !== null && handle.approvalUrl.startsWith(`${options.movedFrom}/`) ? serverUrl + handle.approvalUrl.slice(options.movedFrom.length) : handle.approvalUrl
      await showApproval(output, { approvalUrl, userCode: handle.userCode, agentId: handle.agentId, expiresAt: handle.expiresAt }, { qr: options.qr })
      output.line('  (sign in with the owner email and password above, then press Approve)')
      let outcome: WaitOutcome
      try {
        outcome = await waitWithProgress(handle, output, { stop: options.stopped })
      } catch (error) {
        if (attempt > 0 || resumed === null || !isApprovalGone(error)) throw error
        output.event('sessionRejected', { message: (error as Error).message }, `The saved approval request has ended (${(error as Error).message}); registering again.`)
        continue
      }
      if (outcome.kind === 'stopped') return null
    }
    try {
      if (resumed === 'authenticated' && options.movedFrom !== null) await auth.forceRefresh()
      return { profile: await fetchProfile(client), resumed: resumed === 'authenticated' }
    } catch (error) {
      if (attempt > 0 || resumed !== 'authenticated' || !isSessionGone(error)) throw error
      output.event('sessionRejected', { message: (error as Error).message }, `The saved session is no longer accepted (${(error as Error).message}); registering again.`)
      await auth.revoke()
    }
  }
}

async function fetchProfile(client: HttpClient): Promise<AgentProfile> {
  const response = await client.fetch('/api/agent/me', { timeoutMs: 10_000 })
  if (response.status !== 200) throw new CountersignError(ErrorCodes.INVALID_RESPONSE, `/api/agent/me answered ${response.status}`, { status: response.status })
  return (await response.json()) as AgentProfile
}

function isSessionGone(error: unknown): boolean {
  if (!(error instanceof CountersignError)) return false
  const gone: string[] = [ErrorCodes.UNAUTHORIZED, ErrorCodes.TOKEN_REFRESH_FAILED, ErrorCodes.NOT_AUTHENTICATED, ErrorCodes.REVOKED]
  return gone.includes(error.code)
}

/** The server answered a saved approval's device code with invalid_grant: it no longer has the request. */
function isApprovalGone(error: unknown): boolean {
  return error instanceof CountersignError && error.code === ErrorCodes.OAUTH_ERROR && error.oauthError === 'invalid_grant'
}

function printSocketEvent(output: Output, event: LiveSocketEvent): void {
  switch (event.type) {
    case 'open':
      output.event('liveSocketOpen', { connectionId: event.connectionId, at: isoTime(event.at) }, `Live socket connected to /ws (connection ${event.connectionId})`)
      break
    case 'reauthenticated':
      output.event(
        'liveSocketReauthenticated',
        { connectionId: event.connectionId, exp: isoTime(event.exp * 1000), at: isoTime(event.at) },
        `  live socket re-authenticated in band with the new token (connection ${event.connectionId})`,
      )
      break
    case 'disconnected':
      output.event(
        'liveSocketDisconnected',
        { message: event.failure.message, retryAt: isoTime(event.retryAt) },
        `  live socket disconnected (${event.failure.message})${event.retryAt === null ? '' : `; reconnecting ${clockTime(event.retryAt)}`}`,
      )
      break
    case 'revoked':
      output.event('liveSocketRevoked', { message: event.failure.message }, `  live socket: the session was revoked (${event.failure.message})`)
      break
  }
}
