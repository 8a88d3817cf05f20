/**
 * Time from the owner's approval to the agent holding tokens, with long-poll
 * (`wait=30`, protocol §3.2) against plain RFC 8628 polling at the default
 * 3 s interval. Each trial registers a new agent, starts its client, and
 * approves at a random moment 0.5–6.5 s later, so plain polling is caught at
 * every phase of its interval. The clock starts when the approve request is
 * sent (the human's click) and stops when the client has the token response.
 *
 *   npm run bench -- server-approval
 *   node --import tsx bench/server-approval-latency.bench.ts [trials per mode]
 */
import { CLIENT_ID, DEVICE_CODE_GRANT, machine, postForm, sleep, startBenchServer, startRegistration, summarize, type BenchServer } from './server-support.js'

const TRIALS = Number(process.argv[2] ?? 16)

type Mode = 'long-poll' | 'plain polling'

/** A client that polls until it has tokens; resolves with the time it got them. */
async function client(bench: BenchServer, deviceCode: string, interval: number, mode: Mode): Promise<number> {
  const params = { client_id: CLIENT_ID, grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, ...(mode === 'long-poll' ? { wait: '30' } : {}) }
  let wait = interval
  for (;;) {
    // RFC 8628 §3.5: a plain poller waits the interval before each request; a long-poller asks again at once.
    if (mode === 'plain polling') await sleep(wait * 1000)
    const { status, body } = await postForm(`${bench.url}/oauth/token`, params)
    if (status === 200) return performance.now()
    if (body.error === 'slow_down') wait += 5
    else if (body.error !== 'authorization_pending') throw new Error(`polling failed with ${status}: ${JSON.stringify(body)}`)
  }
}

async function trial(bench: BenchServer, mode: Mode, n: number): Promise<number> {
  const started = await startRegistration(bench.url, `${mode} ${n}`)
  const gotTokens = client(bench, started.deviceCode, started.interval, mode)
  await sleep(500 + Math.random() * 6000)
  const clickedAt = performance.now()
  await bench.owner.approve(started.userCode)
  return (await gotTokens) - clickedAt
}

const bench = await startBenchServer()
try {
  const metadata = (await (await fetch(`${bench.url}/.well-known/oauth-authorization-server`)).json()) as { countersign_long_poll_supported?: boolean }
  if (metadata.countersign_long_poll_supported !== true) throw new Error('the server does not announce long-poll')
  console.log(`approve → tokens, ${TRIALS} trials per mode, default interval, ${machine()}`)
  console.log('| client | trials | mean ms | p95 ms | min ms | max ms |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const mode of ['long-poll', 'plain polling'] as const) {
    const samples: number[] = []
    for (let n = 0; n < TRIALS; n++) samples.push(await trial(bench, mode, n))
    const stats = summarize(samples)
    console.log(`| ${mode} | ${stats.n} | ${stats.mean.toFixed(1)} | ${stats.p95.toFixed(1)} | ${stats.min.toFixed(1)} | ${stats.max.toFixed(1)} |`)
  }
} finally {
  await bench.dispose()
}
