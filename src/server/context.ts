/**
 * What every route module of the reference server is given.
 */
import type { ApprovalService } from './approvals.js'
import type { ServerDatabase } from './database.js'
import type { ResolvedServerOptions } from './options.js'
import type { TokenService } from './tokens.js'

export interface ServerContext {
  options: ResolvedServerOptions
  db: ServerDatabase
  tokens: TokenService
  approvals: ApprovalService
  /** The server's base URL (known once it listens). */
  issuer(): string
  now(): number
}
