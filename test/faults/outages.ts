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
 * token request the agent sent in that time. A wait in which the agent sent nothing at all counts: it could
 * have tried. A late answer (`delayMs`) is not a spoiled one.
 */
export function avoidableFailures(lines: AgentLine[], agent: string, outages: Outage[], log: FaultProxy['log'], leadMs: number): AgentLine[] {
  return failuresWhileUp(lines, outages).filter((line) => {
    const from = (line.start as number) - leadMs
    const to = line.end as number
    if (outages.some((outage) => overlaps(outage, from, to))) return false
    const sent = log.filter((entry) => entry.request.headers['x-fault-agent'] === agent && entry.request.path === '/oauth/token' && entry.at >= from && entry.at <= to)
    const spoiled = sent.filter((entry) => entry.fault !== null && typeof entry.fault !== 'object')
    return sent.length === 0 || spoiled.length < sent.length
  })
}
