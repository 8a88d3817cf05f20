// TEMPORARY: until the owner API lands, approvals are decided in-process. Deleted before the final commit.
import { ApprovalService } from '../../src/server/approvals.js'
import { buildApp } from '../../src/server/app.js'
import { ServerDatabase } from '../../src/server/database.js'
import { loadSigningKey } from '../../src/server/keys.js'
import { resolveServerOptions, type ServerOptions } from '../../src/server/options.js'
import { createOwner } from '../../src/server/owners.js'
import { TokenService } from '../../src/server/tokens.js'

export async function interimServer(options: ServerOptions) {
  const resolved = resolveServerOptions({ host: '127.0.0.1', port: 0, ...options })
  const db = await ServerDatabase.open(undefined)
  let issuer = ''
  const key = await loadSigningKey(db, resolved.now())
  const tokens = new TokenService(db, key, resolved, () => issuer)
  const approvals = new ApprovalService(db, resolved, tokens)
  const ctx = { options: resolved, db, tokens, approvals, issuer: () => issuer, now: resolved.now }
  await createOwner(db, 'owner@example.test', 'password123', resolved.now())
  const ownerId = db.data.owners[0]!.id
  const app = await buildApp(ctx)
  issuer = await app.listen({ host: '127.0.0.1', port: resolved.port })
  return {
    url: issuer,
    dataFile: '',
    ownerId,
    approve: (userCode: string) => approvals.decide(approvals.byUserCode(userCode)!, ownerId, 'approved', resolved.now()),
    revokeAgent: async (agentId: string) => void (await tokens.revokeAgent(agentId, resolved.now())),
    privateJwk: () => db.data.signingKeys[0]!.privateJwk,
    dispose: () => app.close(),
  }
}
