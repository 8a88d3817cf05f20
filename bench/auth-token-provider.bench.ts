/**
 * tokenProvider() with a valid cached token, in ns per call, in the same run
 * as google-auth-library's cached OAuth2Client.getAccessToken() and the
 * floor, `await Promise.resolve(x)`. Each is awaited, as callers do.
 *
 *   node --import tsx bench/auth-token-provider.bench.ts   (or: npm run bench -- auth)
 *
 * Targets: faster than the peer; within 1.5× of the floor.
 */
import { OAuth2Client } from 'google-auth-library'
import { AuthManager } from '../src/index.js'

const CALLS = 1_000_000
const ROUNDS = 9

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const now = Math.floor(Date.now() / 1000)
const accessToken = `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${b64({ sub: 'agt_bench', iat: now, exp: now + 86_400, scope: 'agent' })}.${'s'.repeat(86)}`

const auth = new AuthManager('http://127.0.0.1:4000')
auth.setTokens(accessToken, 'a-refresh-token')
const tokenProvider = auth.tokenProvider
if ((await tokenProvider()) !== accessToken) throw new Error('the manager did not take the token')

const google = new OAuth2Client()
google.setCredentials({ access_token: accessToken, expiry_date: Date.now() + 86_400_000 })
if ((await google.getAccessToken()).token !== accessToken) throw new Error('the peer did not take the token')

const floorValue = accessToken
const subjects: Record<string, () => Promise<unknown>> = {
  floor: () => Promise.resolve(floorValue),
  // What a wall-clock read per call would add on this machine: the hot path reuses a recent reading instead.
  'floor + Date.now()': () => (Date.now(), Promise.resolve(floorValue)),
  countersign: tokenProvider,
  'google-auth-library': () => google.getAccessToken(),
}

async function run(call: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint()
  for (let i = 0; i < CALLS; i++) await call()
  return Number(process.hrtime.bigint() - started) / CALLS
}

// Warm up every subject, then interleave the rounds so drift hits all alike.
for (const call of Object.values(subjects)) await run(call)
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]))
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, call] of Object.entries(subjects)) samples[name]!.push(await run(call))
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const result = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, Number(median(values).toFixed(1))]))
const ours = result.countersign!
console.log(JSON.stringify({
  nsPerCall: result,
  calls: CALLS,
  rounds: ROUNDS,
  ratioToFloor: Number((ours / result.floor!).toFixed(2)),
  ratioToFloorWithClockRead: Number((ours / result['floor + Date.now()']!).toFixed(2)),
  ratioToPeer: Number((ours / result['google-auth-library']!).toFixed(3)),
  targets: { fasterThanPeer: ours < result['google-auth-library']!, withinOneAndAHalfOfFloor: ours <= 1.5 * result.floor! },
}, null, 2))
auth.dispose()
