/**
 * `createServer()`: the reference approval server as a library call.
 */
import type { FastifyInstance } from 'fastify'
import { ApprovalService } from './approvals.js'
import { buildApp } from './app.js'
import type { ServerContext } from './context.js'
import { ServerDatabase } from './database.js'
import { loadSigningKey } from './keys.js'
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.js'
import { createOwner } from './owners.js'
import { TokenService } from './tokens.js'

/** A running reference server, as `createServer()` resolves it. */
export interface CountersignServer {
  /** Base URL, e.g. http://127.0.0.1:4000 (the issuer). */
  readonly url: string
  /** Where the server listens, e.g. http://127.0.0.1:4000; differs from `url` when an issuer is set (a proxy's address). */
  readonly listenUrl: string
  /** The Fastify instance, for adding routes or injecting requests. */
  readonly app: FastifyInstance
  /** Stops listening, ends open connections and long-polls, and writes the data file. */
  close(): Promise<void>
}

const SWEEP_EVERY_MS = 60_000

/**
 * Starts the reference approval server: the protocol's endpoints, the owner
 * console and API, and the demo resources, listening once it resolves.
 * Without `dataFile` it keeps everything in memory. Rejects when the port is
 * taken, or when the data file is corrupt or held by another server.
 */
export async function createServer(options: ServerOptions = {}): Promise<CountersignServer> {
  const resolved = resolveServerOptions(options)
  const db = await ServerDatabase.open(resolved.dataFile)
  try {
    return await start(db, resolved)
  } catch (error) {
    await db.close().catch(() => {})
    throw error
  }
}

async function start(db: ServerDatabase, resolved: ResolvedServerOptions): Promise<CountersignServer> {
  let issuer = resolved.issuer ?? ''
  const now = resolved.now
  const key = await loadSigningKey(db, now())
  const tokens = new TokenService(db, key, resolved, () => issuer)
  const approvals = new ApprovalService(db, resolved, tokens)
  const ctx: ServerContext = { options: resolved, db, tokens, approvals, issuer: () => issuer, now }
  // A pair kept for a repeat is needed while either rule can still give it again.
  const keepPairsMs = Math.max(resolved.refreshGrace, resolved.redeliveryWindow) * 1000

  if (resolved.owner && (await createOwner(db, resolved.owner.email, resolved.owner.password, now()))) await db.save()
  if (db.sweep(now(), keepPairsMs)) await db.save()

  const app = await buildApp(ctx)
  const sweeper = setInterval(() => {
    if (db.sweep(now(), keepPairsMs)) db.save().catch((error) => app.log.error({ err: error }, 'could not save the data file'))
  }, SWEEP_EVERY_MS)
  sweeper.unref()

  let address: string
  try {
    address = await app.listen({ host: resolved.host, port: resolved.port })
  } catch (error) {
    clearInterval(sweeper)
    await app.close().catch(() => {})
    throw error
  }
  const listenUrl = localUrl(resolved.host, Number(new URL(address).port))
  if (!issuer) issuer = listenUrl

  let closing: Promise<void> | undefined
  return {
    url: issuer,
    listenUrl,
    app,
    close() {
      closing ??= (async () => {
        clearInterval(sweeper)
        approvals.releaseWaiters()
        await app.close()
        await db.close()
      })()
      return closing
    },
  }
}

/** Addresses that mean every interface, and the loopback address of their family that reaches them. */
const WILDCARDS: Record<string, string> = { '0.0.0.0': '127.0.0.1', '::': '::1', '0:0:0:0:0:0:0:0': '::1' }

/** The URL a client on this machine reaches a server listening on `host` by: a wildcard address becomes loopback. */
function localUrl(host: string, port: number): string {
  const reachable = WILDCARDS[host] ?? host
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`
}
