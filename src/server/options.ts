import { isIP } from 'node:net'

/**
 * Settings of the reference server. Durations are in seconds, as on the
 * command line; library callers may give fractions for fast tests.
 */
export interface ServerOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string
  /** Port; 0 picks a free one. Default 4000. */
  port?: number
  /** The JSON data file. Absent: everything is kept in memory and lost on close. */
  dataFile?: string
  /** Base URL the server names itself by. Default: http://<host>:<port>, with 127.0.0.1 for the host 0.0.0.0 and [::1] for ::. */
  issuer?: string
  /**
   * Proxies whose X-Forwarded-For (and X-Forwarded-Proto) the server
   * believes: addresses or CIDR ranges, comma-separated or as an array, e.g.
   * '127.0.0.1' or '10.0.0.0/8, ::1'. The per-address limits then count the
   * client the proxy names, not the proxy. Default: none is trusted.
   */
  trustProxy?: string | string[]
  /** Access token lifetime, seconds. Default 3600. */
  accessTtl?: number
  /** Refresh token lifetime, seconds. Default 30 days. */
  refreshTtl?: number
  /** Approval request lifetime, seconds. Default 24 hours. */
  approvalTtl?: number
  /** Poll interval named to clients, seconds. Default 3. */
  interval?: number
  /**
   * How long a rotated refresh token returns the same successor pair even
   * once that successor was used (two processes refreshing at once), seconds.
   * Default 30.
   */
  refreshGrace?: number
  /**
   * How long an answer that may have been lost is given again, seconds: a
   * rotated refresh token presented again gets the same successor pair, and
   * an exchanged device code the same first pair, as long as that pair was
   * never used and this long after the first answer. Default 600 (10 min).
   */
  redeliveryWindow?: number
  /** Whether owners may sign up through the API and console. Default true. */
  signup?: boolean
  /** An owner created at start when missing. */
  owner?: { email: string; password: string }
  /**
   * Requests per minute per client address for device authorization and
   * sign-up, and failed sign-ins and failed token requests per minute per
   * address (successful grants and polling answers do not count). Sign-in
   * requests are bounded at ten times this, against floods. Default 120.
   */
  rateLimit?: number
  /** Public client ids accepted. Default ['countersign-agent']. */
  clientIds?: string[]
  /** Audience of access tokens. Default 'countersign'. */
  audience?: string
  /** Scopes the server grants when a request names none. Default 'agent'. */
  defaultScope?: string
  /** Every scope a client may ask for. Default ['agent', 'agent:read', 'agent:write', 'offline_access']. */
  scopesSupported?: string[]
  /** Clock in epoch milliseconds, injectable for tests. */
  now?: () => number
  /** Fastify logger setting. Default false. */
  logger?: boolean
}

export interface ResolvedServerOptions {
  host: string
  port: number
  dataFile: string | undefined
  issuer: string | undefined
  /** Trusted proxy addresses and ranges; empty when none is trusted. */
  trustProxy: string[]
  accessTtl: number
  refreshTtl: number
  approvalTtl: number
  interval: number
  refreshGrace: number
  redeliveryWindow: number
  signup: boolean
  owner: { email: string; password: string } | undefined
  rateLimit: number
  clientIds: string[]
  audience: string
  defaultScope: string
  scopesSupported: string[]
  now: () => number
  logger: boolean
}

/** The settings a server runs with when `createServer()` is given none (durations in seconds). */
export const serverDefaults = {
  host: '127.0.0.1',
  port: 4000,
  accessTtl: 3600,
  refreshTtl: 30 * 24 * 3600,
  approvalTtl: 24 * 3600,
  interval: 3,
  refreshGrace: 30,
  redeliveryWindow: 600,
  rateLimit: 120,
  clientId: 'countersign-agent',
  audience: 'countersign',
  defaultScope: 'agent',
  scopesSupported: ['agent', 'agent:read', 'agent:write', 'offline_access'],
} as const

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive number of seconds`)
  }
  return value
}

const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * What is wrong with one entry of a trusted proxy list, or undefined: an
 * entry is an IPv4 or IPv6 address, optionally with a /prefix length, or one
 * of the range names loopback, linklocal and uniquelocal.
 */
export function proxyAddressProblem(entry: string): string | undefined {
  if (entry === '') return 'an empty entry'
  if (PROXY_RANGE_NAMES.has(entry)) return undefined
  const slash = entry.indexOf('/')
  const address = slash === -1 ? entry : entry.slice(0, slash)
  const family = isIP(address)
  if (family === 0) return `"${entry.slice(0, 100)}", which is not an IP address or CIDR range`
  if (slash === -1) return undefined
  const prefix = entry.slice(slash + 1)
  const bits = family === 4 ? 32 : 128
  // Fastify's proxy matching takes no /0: a proxy that is every address is not a proxy.
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) < 1 || Number(prefix) > bits) return `"${entry.slice(0, 100)}", whose prefix length must be a whole number from 1 to ${bits}`
  return undefined
}

/** The entries of a trusted proxy list (comma-separated or an array), checked; throws a TypeError naming `name`. */
export function parseTrustProxy(value: unknown, name: string): string[] {
  if (value === undefined) return []
  if (typeof value !== 'string' && !(Array.isArray(value) && value.every((entry) => typeof entry === 'string'))) {
    throw new TypeError(`${name} must be a comma-separated string or an array of proxy addresses`)
  }
  const entries = (typeof value === 'string' ? value.split(',') : value).map((entry) => entry.trim())
  if (entries.length === 0 || entries.every((entry) => entry === '')) throw new TypeError(`${name} must name at least one proxy address or CIDR range`)
  for (const entry of entries) {
    const problem = proxyAddressProblem(entry)
    if (problem) throw new TypeError(`${name} must list IP addresses or CIDR ranges (e.g. 127.0.0.1 or 10.0.0.0/8); it has ${problem}`)
  }
  return entries
}

export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const port = options.port ?? serverDefaults.port
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError('port must be an integer from 0 to 65535')
  const host = options.host ?? serverDefaults.host
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('host must be a non-empty string')
  if (options.dataFile !== undefined && (typeof options.dataFile !== 'string' || options.dataFile.length === 0)) {
    throw new TypeError('dataFile must be a non-empty string')
  }
  if (options.issuer !== undefined) {
    let url: URL
    try {
      url = new URL(options.issuer)
    } catch {
      throw new TypeError('issuer must be an absolute http(s) URL')
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('issuer must be an absolute http(s) URL')
  }
  if (options.owner !== undefined) {
    const { email, password } = options.owner ?? {}
    if (typeof email !== 'string' || !email.includes('@')) throw new TypeError('owner.email must be an email address')
    if (typeof password !== 'string' || password.length < 8) throw new TypeError('owner.password must be at least 8 characters')
  }
  const rateLimit = options.rateLimit ?? serverDefaults.rateLimit
  if (!Number.isInteger(rateLimit) || rateLimit < 1) throw new TypeError('rateLimit must be a positive integer (requests per minute)')
  const clientIds = options.clientIds ?? [serverDefaults.clientId]
  if (!Array.isArray(clientIds) || clientIds.length === 0 || clientIds.some((id) => typeof id !== 'string' || id === '')) {
    throw new TypeError('clientIds must be a non-empty array of strings')
  }
  const scopesSupported = options.scopesSupported ?? [...serverDefaults.scopesSupported]
  const defaultScope = options.defaultScope ?? serverDefaults.defaultScope
  for (const scope of defaultScope.split(' ')) {
    if (!scopesSupported.includes(scope)) throw new TypeError(`defaultScope names "${scope}", which is not in scopesSupported`)
  }
  return {
    host,
    port,
    dataFile: options.dataFile,
    issuer: options.issuer?.replace(/\/+$/, ''),
    trustProxy: parseTrustProxy(options.trustProxy, 'trustProxy'),
    accessTtl: positive(options.accessTtl, 'accessTtl', serverDefaults.accessTtl),
    refreshTtl: positive(options.refreshTtl, 'refreshTtl', serverDefaults.refreshTtl),
    approvalTtl: positive(options.approvalTtl, 'approvalTtl', serverDefaults.approvalTtl),
    interval: positive(options.interval, 'interval', serverDefaults.interval),
    refreshGrace: positive(options.refreshGrace, 'refreshGrace', serverDefaults.refreshGrace),
    redeliveryWindow: positive(options.redeliveryWindow, 'redeliveryWindow', serverDefaults.redeliveryWindow),
    signup: options.signup ?? true,
    owner: options.owner,
    rateLimit,
    clientIds,
    audience: options.audience ?? serverDefaults.audience,
    defaultScope,
    scopesSupported,
    now: options.now ?? Date.now,
    logger: options.logger ?? false,
  }
}
