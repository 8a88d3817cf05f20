/**
 * Heap per idle authenticated AuthManager, with 10,000 in one process.
 * Each manager gets its own token pair (JWT-shaped access tokens the size of
 * the reference server's, one hour to live), the default in-memory store,
 * and is then left alone: what an idle agent in a large fleet costs.
 *
 *   node --expose-gc --import tsx bench/auth-memory.bench.ts [count]   (or: npm run bench -- auth)
 *
 * Target: ≤ 10 KB per manager.
 */
import { randomBytes } from 'node:crypto'
import { AuthManager } from '../src/index.js'

const COUNT = Number(process.argv[2] ?? 10_000)
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run node with --expose-gc')

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const header = b64({ alg: 'ES256', kid: randomBytes(16).toString('base64url'), typ: 'at+jwt' })

/** An access token shaped like the reference server's: same header, claims and ES256 signature length. */
function accessToken(i: number, now: number): string {
  const payload = b64({
    iss: 'http://127.0.0.1:4000', sub: `agt_${randomBytes(12).toString('base64url')}`, aud: 'countersign',
    iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 3600, jti: randomBytes(16).toString('base64url'),
    scope: 'agent', owner: `own_${randomBytes(12).toString('base64url')}`, sid: `fam_${randomBytes(12).toString('base64url')}`, n: i,
  })
  return `${header}.${payload}.${randomBytes(64).toString('base64url')}`
}

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc!()
  return process.memoryUsage().heapUsed
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Warm up the code paths (discovery is never needed: no request is made), so compiled code is not counted.
{
  const warm = Array.from({ length: 200 }, () => new AuthManager('http://127.0.0.1:4000'))
  for (const auth of warm) auth.setTokens(accessToken(0, Date.now()), randomBytes(32).toString('base64url'))
  await Promise.all(warm.map((auth) => auth.tokenProvider()))
  await settle(200)
  for (const auth of warm) auth.dispose()
}
await settle(100)

const before = heapUsed()
const managers: AuthManager[] = []
const started = performance.now()
for (let i = 0; i < COUNT; i++) {
  const auth = new AuthManager('http://127.0.0.1:4000')
  auth.setTokens(accessToken(i, Date.now()), randomBytes(32).toString('base64url'))
  managers.push(auth)
}
await Promise.all(managers.map((auth) => auth.tokenProvider()))
const authenticatedMs = performance.now() - started
await settle(500) // idle: every actor has saved its state and gone to sleep
const after = heapUsed()
const states = new Map<string, number>()
for (const auth of managers) states.set(auth.state, (states.get(auth.state) ?? 0) + 1)

// What the tokens alone weigh (two strings per agent), for comparison.
const strings: string[] = []
const beforeStrings = heapUsed()
for (let i = 0; i < COUNT; i++) strings.push(accessToken(i, Date.now()), randomBytes(32).toString('base64url'))
const tokenBytes = (heapUsed() - beforeStrings) / COUNT

const perManager = (after - before) / COUNT
console.log(JSON.stringify({
  managers: COUNT,
  states: Object.fromEntries(states),
  heapPerManagerBytes: Math.round(perManager),
  heapPerManagerKB: Number((perManager / 1024).toFixed(2)),
  tokenStringsPerManagerBytes: Math.round(tokenBytes),
  accessTokenLength: strings[0]!.length,
  authenticateAllMs: Math.round(authenticatedMs),
  target: '≤ 10 KB',
  met: perManager <= 10 * 1024,
}, null, 2))
for (const auth of managers) auth.dispose()
