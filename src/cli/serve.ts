/**
 * `countersign serve`: the reference approval server in the foreground.
 */
import type { Command } from 'commander'
import { resolve } from 'node:path'
import type { GlobalOptions } from './global-options.js'
import { createOutput } from './output.js'
import { nonEmpty, OWNER_USAGE, ownerCredentials, port, positiveInteger, proxyList, seconds, url } from './parse.js'
import { watchSignals } from './signals.js'

export const DEFAULT_SERVER_DATA = './.countersign/server.json'

interface ServeOptions {
  host: string
  port: number
  data: string
  issuer?: string
  trustProxy?: string
  accessTtl?: number
  refreshTtl?: number
  approvalTtl?: number
  interval?: number
  refreshGrace?: number
  redeliveryWindow?: number
  signup: boolean
  owner?: string
  rateLimit?: number
}

export function serveCommand(program: Command, setExitCode: (code: number) => void): Command {
  return program
    .command('serve')
    .description('run the reference approval server (protocol, owner console, demo API)')
    .option('--host <host>', 'interface to listen on', nonEmpty('--host'), '127.0.0.1')
    .option('--port <port>', 'port to listen on; 0 picks a free one', port, 4000)
    .option('--data <file>', 'JSON data file (owners, agents, approvals, token families, signing key)', DEFAULT_SERVER_DATA)
    .option('--issuer <url>', 'base URL the server names itself by (default: http://<host>:<port>)', url('--issuer'))
    .option('--trust-proxy <addresses>', 'comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For names the client (none by default)', proxyList('--trust-proxy'))
    .option('--access-ttl <seconds>', 'access token lifetime (default 3600)', seconds('--access-ttl'))
    .option('--refresh-ttl <seconds>', 'refresh token lifetime (default 2592000, 30 days)', seconds('--refresh-ttl'))
    .option('--approval-ttl <seconds>', 'approval request lifetime (default 86400)', seconds('--approval-ttl'))
    .option('--interval <seconds>', 'poll interval named to clients (default 3)', seconds('--interval'))
    .option('--refresh-grace <seconds>', 'how long a rotated refresh token returns the same successor, used or not (default 30)', seconds('--refresh-grace'))
    .option('--redelivery-window <seconds>', 'how long a repeated refresh or device-code exchange gets the same pair while that pair is unused (default 600)', seconds('--redelivery-window'))
    .option('--rate-limit <n>', 'requests per minute per address for device authorization and sign-up, and failed sign-ins and token requests (default 120)', positiveInteger('--rate-limit'))
    .option('--no-signup', 'turn off owner sign-up')
    .option('--owner <email:password>', 'create this owner if missing')
    .action(async (options: ServeOptions, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>()
      const output = createOutput(global)
      // Checked here, not by a commander parser: commander would repeat the value, a password.
      const owner = options.owner === undefined ? undefined : ownerCredentials(options.owner)
      if (owner === null) command.error(`error: ${OWNER_USAGE}`, { exitCode: 2, code: 'countersign.usage' })
      const signals = watchSignals()
      try {
        // Loaded here, not at the top: the server's modules would slow every other command's start.
        const { createServer } = await import('../server/index.js')
        const server = await createServer({
          host: options.host,
          port: options.port,
          dataFile: resolve(options.data),
          issuer: options.issuer,
          trustProxy: options.trustProxy,
          accessTtl: options.accessTtl,
          refreshTtl: options.refreshTtl,
          approvalTtl: options.approvalTtl,
          interval: options.interval,
          refreshGrace: options.refreshGrace,
          redeliveryWindow: options.redeliveryWindow,
          rateLimit: options.rateLimit,
          signup: options.signup,
          owner,
        })
        output.event('listening', { url: server.url, address: server.listenUrl, dataFile: resolve(options.data) }, `countersign server listening on ${server.url}`)
        // With --issuer the base URL names a proxy in front; say where the server itself is (with --port 0, nothing else tells).
        if (server.listenUrl !== server.url) output.line(`  address:   ${server.listenUrl}`)
        output.line(`  console:   ${server.url}/`)
        output.line(`  discovery: ${server.url}/.well-known/oauth-authorization-server`)
        output.line(`  data:      ${resolve(options.data)}`)
        if (owner) output.line(`  owner:     ${owner.email}`)
        const signal = await signals.received
        await server.close()
        output.event('stopped', { signal }, `countersign server stopped (${signal})`)
        setExitCode(0)
      } catch (error) {
        setExitCode(output.fail(error))
      } finally {
        signals.dispose()
      }
    })
}
