/**
 * An owner's agents as the owner API and the console show them.
 */
import type { ServerContext } from '../context.js'
import type { AgentRecord } from '../model.js'

export interface AgentView {
  id: string
  name: string
  username: string
  created_at: string
  last_seen_at: string | null
  /** Logins (token families) that are neither revoked nor past their refresh token's expiry. */
  active_sessions: number
}

/** The owner's agents, newest first. */
export function agentsOfOwner(ctx: ServerContext, ownerId: string): AgentView[] {
  const now = ctx.now()
  const liveFamilies = new Set<string>()
  for (const token of ctx.db.data.refreshTokens) if (token.expiresAt > now) liveFamilies.add(token.familyId)
  const sessions = new Map<string, number>()
  for (const family of ctx.db.data.families) {
    if (family.revokedAt === null && family.ownerId === ownerId && liveFamilies.has(family.id)) {
      sessions.set(family.agentId, (sessions.get(family.agentId) ?? 0) + 1)
    }
  }
  return ctx.db.data.agents
    .filter((agent) => agent.ownerId === ownerId && agent.status === 'active')
    .sort((a, b) => b.createdAt - a.createdAt)
    .map((agent) => ({
      id: agent.id,
      name: agent.name,
      username: agent.username,
      created_at: new Date(agent.createdAt).toISOString(),
      last_seen_at: agent.lastSeenAt === null ? null : new Date(agent.lastSeenAt).toISOString(),
      active_sessions: sessions.get(agent.id) ?? 0,
    }))
}

/** The agent with this id if `ownerId` owns it; anyone else's is as good as absent. */
export function ownedAgent(ctx: ServerContext, ownerId: string, agentId: string): AgentRecord | undefined {
  const agent = ctx.db.agentsById.get(agentId)
  return agent && agent.ownerId === ownerId ? agent : undefined
}
