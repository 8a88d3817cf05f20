/**
 * Preloaded into examples/worker-fleet.ts by bench/fleet.bench.ts
 * (`node --import tsx --import ./bench/fleet-probe.ts ...`): it wraps fetch
 * to follow each agent's refresh-token chain (a device-code grant starts one,
 * each refresh grant passes it on), counts the requests that failed, samples
 * the heap, and at exit writes what it saw as JSON to $FLEET_PROBE_OUT.
 * Nothing in the example changes.
 */
import { writeFileSync } from 'node:fs'

const out = process.env.FLEET_PROBE_OUT
if (!out) throw new Error('bench/fleet-probe.ts needs FLEET_PROBE_OUT, the file to write its findings to')

export interface FleetProbe {
  /** Refresh grants answered 200, per agent in the order they signed in. */
  refreshesPerAgent: number[]
  /** Requests that got no answer or an error answer (a poll answered authorization_pending or slow_down is no failure). */
  failures: { what: string; detail: string }[]
  requests: Record<string, number>
  peakHeapBytes: number
  /** The kernel's peak resident set size of the process. */
  peakRssBytes: number
}

const probe: FleetProbe = { refreshesPerAgent: [], failures: [], requests: {}, peakHeapBytes: 0, peakRssBytes: 0 }
/** Which agent a refresh token belongs to. */
const agentOf = new Map<string, number>()

const original = globalThis.fetch
globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const url = new URL(input instanceof Request ? input.url : input)
  const form = init?.body instanceof URLSearchParams ? init.body : null
  const grant = url.pathname === '/oauth/token' ? form?.get('grant_type') : undefined
  const what = grant === 'refresh_token' ? 'refresh' : grant ? 'poll' : `${init?.method ?? 'GET'} ${url.pathname.replace(/\/api\/approvals\/[^/]+/, '/api/approvals/:code')}`
  probe.requests[what] = (probe.requests[what] ?? 0) + 1
  let response: Response
  try {
    response = await original(input, init)
  } catch (error) {
    probe.failures.push({ what, detail: error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error) })
    throw error
  }
  if (grant !== undefined && response.status === 200) {
    const body = (await response.clone().json()) as { refresh_token?: string }
    const agent = grant === 'refresh_token' ? agentOf.get(form!.get('refresh_token') ?? '') : probe.refreshesPerAgent.push(0) - 1
    if (agent !== undefined) {
      if (grant === 'refresh_token') probe.refreshesPerAgent[agent]!++
      if (body.refresh_token) agentOf.set(body.refresh_token, agent)
    }
    agentOf.delete(form!.get('refresh_token') ?? '')
  } else if (!response.ok) {
    const text = await response.clone().text()
    // A poll before the decision is answered 400 authorization_pending (or slow_down): the protocol, not a failure.
    const pending = what === 'poll' && response.status === 400 && /"error":"(authorization_pending|slow_down)"/.test(text)
    if (!pending) probe.failures.push({ what, detail: `${response.status} ${text}` })
  }
  return response
}

const sample = () => {
  probe.peakHeapBytes = Math.max(probe.peakHeapBytes, process.memoryUsage().heapUsed)
}
setInterval(sample, 50).unref()

process.on('exit', () => {
  sample()
  // maxRSS is in KiB.
  probe.peakRssBytes = process.resourceUsage().maxRSS * 1024
  writeFileSync(out, JSON.stringify(probe))
})
