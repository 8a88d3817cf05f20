/**
 * Reading agent lines against server outages and the proxy's log: which
 * tokenProvider() failures happened while a token could have been had.
 */
import type { AgentLine } from './agent-harness.js'
import type { FaultProxy } from './fault-proxy.js'
import type { Outage } from './server-harness.js'

const overlaps = (outage: Outage, from: number, to: number) => outage.killedAt <= to && outage.upAt >= from

/** tokenProvider() failures whose whole wait [start, end] fell while the server was up (no outage overlapping it). */
export function failuresWhileUp(lines: AgentLine[], outages: Outage[]): AgentLine[] {
  return lines.filter((line) => line.event === 'tokenFailed' && !outages.some((outage) => overlaps(outage, line.start as number, line.end as number)))
}

/**
 * tokenProvider() failures when a token could have been had: no server outage overlapped the wait (from
 * `leadMs` before the call, so that a request already in flight counts) and the proxy did not spoil every
 * token request the agent sent in that time (or, with none, every discovery request a restarted agent
 * sends first). A wait in which the agent sent nothing at all counts: it could have tried. A late answer
 * (`delayMs`) is not a spoiled one.
 */
export function avoidableFailures(lines: AgentLine[], agent: string, outages: Outage[], log: FaultProxy['log'], leadMs: number): AgentLine[] {
  return failuresWhileUp(lines, outages).filter((line) => {
    const from = (line.start as number) - leadMs
    const to = line.end as number
    if (outages.some((outage) => overlaps(outage, from, to))) return false
    const sent = refreshRequests(log, agent, from, to)
    // The token requests decide when there are any; else the discovery requests a restarted agent makes first.
    const tokenRequests = sent.filter((entry) => entry.request.path === '/oauth/token')
    const deciding = tokenRequests.length > 0 ? tokenRequests : sent
    return deciding.length === 0 || deciding.some((entry) => entry.fault === null || typeof entry.fault === 'object')
  })
}

/** What a refresh sends, from one agent in [from, to]: the discovery document (after a restart) and token requests. */
export function refreshRequests(log: FaultProxy['log'], agent: string, from: number, to: number): FaultProxy['log'] {
  return log.filter(
    (entry) =>
      entry.request.headers['x-fault-agent'] === agent &&
      (entry.request.path === '/oauth/token' || entry.request.path === '/.well-known/oauth-authorization-server') &&
      entry.at >= from &&
      entry.at <= to,
  )
}
