/**
 * fast-check arbitraries for bad requests to the reference server: odd
 * content types, bodies, parameters (repeated, oversized, unicode), headers
 * and paths. Each request is what a real HTTP client could send: header
 * values are printable ASCII, paths are ASCII with percent escapes.
 */
import fc from 'fast-check'
import { CLIENT_ID, DEVICE_CODE_GRANT } from './protocol-support.js'

/**
 * encodeURIComponent, except that a lone surrogate (which it refuses) is sent
 * as its three WTF-8 bytes: not valid UTF-8, exactly the kind of input to try.
 */
export function percentEncode(value: string): string {
  let out = ''
  for (const char of value) {
    const code = char.codePointAt(0)!
    if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('')
    } else {
      out += encodeURIComponent(char)
    }
  }
  return out
}

export interface BadRequest {
  method: string
  url: string
  headers: Record<string, string>
  body: string | undefined
}

/** Printable ASCII without leading or trailing blanks: what fetch and node:http accept as a header value. */
export const headerValue = fc
  .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 300 })
  .map((value) => value.trim())

/** Strings a caller might send as a parameter: short, unicode, lone surrogates, control characters, or long. */
export const oddString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('\u0000', '\u0007', '\n', '\r', '\t', '\u202e', '\ud800', '\udfff', '%', '&', '=', '+', '\ufeff'), maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 3000, max: 6000 }).map((length) => 'x'.repeat(length)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', 'undefined', '[]', '{}', '__proto__', 'constructor', '0', '-1', '1e308', 'NaN') },
)

const contentTypes = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/x-www-form-urlencoded') },
  { weight: 1, arbitrary: fc.constantFrom('application/x-www-form-urlencoded; charset=utf-8', 'APPLICATION/X-WWW-FORM-URLENCODED', 'application/x-www-form-urlencoded; charset=latin1') },
  { weight: 2, arbitrary: fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=xyz', 'application/octet-stream', 'text/html', 'application/xml', '*/*', 'application/json; charset=utf-16') },
  { weight: 1, arbitrary: headerValue },
)

/** A form body from name/value pairs (repeats allowed), or something that is no form at all. */
function formBody(names: fc.Arbitrary<string>, value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const pairs = fc.array(fc.tuple(names, value), { maxLength: 8 })
  return fc.oneof(
    { weight: 8, arbitrary: pairs.map((list) => list.map(([name, v]) => `${percentEncode(name)}=${percentEncode(v)}`).join('&')) },
    { weight: 1, arbitrary: pairs.map((list) => list.map(([name, v]) => `${name}=${v}`).join('&')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%ZZ=1', 'a=%E0%A4%A', '&&&', '=', 'a[b][c]=1', '__proto__[x]=1', 'a=1;b=2') },
    // Over the 64 KiB body limit.
    { weight: 1, arbitrary: fc.integer({ min: 65 * 1024, max: 70 * 1024 }).map((length) => `client_id=${CLIENT_ID}&pad=${'p'.repeat(length)}`) },
  )
}

/** Headers beyond the content type: an idempotency key, cookies, CSRF tokens, credentials, anything. */
const oddHeaders = fc.dictionary(
  fc.constantFrom('idempotency-key', 'cookie', 'x-csrf-token', 'authorization', 'accept', 'accept-encoding', 'x-forwarded-for', 'origin', 'x-made-up', 'content-language'),
  headerValue,
  { maxKeys: 3 },
)

/** Real values of the fuzzed server, so that mutated requests reach the checks behind the first one. */
export interface KnownState {
  /** Device codes already decided (approved, denied): a long-poll on them answers at once. */
  decidedDeviceCodes: string[]
  /** A device code nobody decides: long-polls on it are kept short (see below). */
  pendingDeviceCode: string
  refreshTokens: string[]
  accessTokens: string[]
  agentIds: string[]
  usernames: string[]
  userCodes: string[]
}

/** A value for a parameter: mostly a good one (real state where there is some), sometimes an odd one. */
function plausible(name: string, known: KnownState): fc.Arbitrary<string> {
  const good = goodValue(name, known)
  return good === undefined ? oddString : fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: oddString })
}

function goodValue(name: string, known: KnownState): fc.Arbitrary<string> | undefined {
  switch (name) {
    case 'client_id':
      return fc.constant(CLIENT_ID)
    case 'grant_type':
      return fc.constantFrom(DEVICE_CODE_GRANT, 'refresh_token', 'authorization_code', 'client_credentials')
    case 'scope':
      return fc.constantFrom('agent', 'agent:read offline_access', 'admin', 'agent agent', ' ', 'agent:write')
    case 'wait':
      return fc.oneof(fc.integer({ min: -5, max: 40 }).map(String), fc.constantFrom('1.5', '1e1', ' 5', '05', '0x1f'))
    case 'token_type_hint':
      return fc.constantFrom('access_token', 'refresh_token', 'id_token')
    case 'agent_name':
      return fc.constantFrom('Fuzzed Agent', 'n'.repeat(100), 'n'.repeat(101))
    case 'agent_username':
    case 'username':
      return fc.oneof(fc.constantFrom(...known.usernames), fc.stringMatching(/^[a-z0-9-]{1,45}$/))
    case 'agent_id':
      return fc.oneof(fc.constantFrom(...known.agentIds), fc.stringMatching(/^agt_[A-Za-z0-9_-]{16}$/))
    case 'device_code':
      return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known.decidedDeviceCodes, known.pendingDeviceCode) }, { weight: 1, arbitrary: fc.stringMatching(/^apr_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/) })
    case 'refresh_token':
      return fc.constantFrom(...known.refreshTokens)
    case 'token':
      return fc.constantFrom(...known.refreshTokens, ...known.accessTokens)
    default:
      return undefined
  }
}

/** Good requests of each endpoint, as name/value lists; the fuzzer mutates them. */
const templates: Record<string, string[][]> = {
  // `name=value` fixes the value of that parameter in the template (before mutations).
  '/oauth/device_authorization': [
    ['client_id', 'agent_name'],
    ['client_id', 'agent_name', 'agent_username', 'scope'],
    ['client_id', 'agent_id'],
    ['client_id', 'username', 'scope'],
  ],
  '/oauth/token': [
    ['client_id', 'grant_type=device_code', 'device_code'],
    ['client_id', 'grant_type=device_code', 'device_code', 'wait'],
    ['client_id', 'grant_type=refresh_token', 'refresh_token'],
    ['client_id', 'grant_type=refresh_token', 'refresh_token', 'scope'],
  ],
  '/oauth/revoke': [
    ['client_id', 'token'],
    ['client_id', 'token', 'token_type_hint'],
  ],
}

type Pairs = Array<[string, string]>

/** One change to a parameter list: drop one, change one, repeat one, or add a stranger. */
function parameterNames(path: string): string[] {
  return [...new Set(templates[path]!.flat().map((entry) => entry.split('=')[0]!))]
}

function mutation(names: string[], known: KnownState): fc.Arbitrary<(pairs: Pairs) => Pairs> {
  return fc.oneof(
    fc.nat().map((i) => (pairs: Pairs) => pairs.filter((_, j) => j !== i % Math.max(1, pairs.length))),
    fc.nat().chain((i) => oddString.map((value) => (pairs: Pairs) => pairs.map(([n, v], j) => [n, j === i % Math.max(1, pairs.length) ? value : v] as [string, string]))),
    fc.nat().map((i) => (pairs: Pairs) => (pairs.length === 0 ? pairs : [...pairs, pairs[i % pairs.length]!])),
    fc.constantFrom(...names).chain((n) => plausible(n, known).map((value) => (pairs: Pairs) => [...pairs, [n, value] as [string, string]])),
    fc.tuple(oddString, oddString).map(([n, value]) => (pairs: Pairs) => [...pairs, [n, value] as [string, string]]),
  )
}

/**
 * A plausible parameter list with a few mutations. A valid `wait` on the
 * pending device code would hold the request for real seconds, so it is
 * turned into an invalid one: the fuzzer is about input, not patience.
 */
function mutatedPairs(path: string, known: KnownState): fc.Arbitrary<Pairs> {
  const names = parameterNames(path)
  const fixed: Record<string, string> = { device_code: DEVICE_CODE_GRANT, refresh_token: 'refresh_token' }
  return fc
    .constantFrom(...templates[path]!)
    .chain((template) =>
      fc.tuple(
        ...template.map((entry) => {
          const [n, kind] = entry.split('=') as [string, string | undefined]
          return (kind === undefined ? plausible(n, known) : fc.constant(fixed[kind]!)).map((value) => [n, value] as [string, string])
        }),
      ),
    )
    .chain((pairs) => fc.array(mutation(names, known), { maxLength: 3 }).map((changes) => changes.reduce((list, change) => change(list), pairs as Pairs)))
    .map((pairs) => {
      const holdsRealTime = pairs.some(([n, v]) => n === 'device_code' && v === known.pendingDeviceCode)
      return holdsRealTime ? pairs.map(([n, v]) => [n, n === 'wait' && /^\d+$/.test(v.trim()) ? '0' : v] as [string, string]) : pairs
    })
}

/** A POST to an OAuth endpoint with a bad (or, by chance, good) request. */
export function oauthRequest(path: string, known: KnownState): fc.Arbitrary<BadRequest> {
  const names = parameterNames(path)
  const name = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: oddString })
  const encode = (pairs: Pairs) => pairs.map(([n, v]) => `${percentEncode(n)}=${percentEncode(v)}`).join('&')
  const body = fc.oneof(
    { weight: 6, arbitrary: mutatedPairs(path, known).map(encode) },
    { weight: 2, arbitrary: formBody(name, oddString) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  )
  return fc
    .record({
      method: fc.oneof({ weight: 19, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') }),
      url: fc.oneof({ weight: 9, arbitrary: fc.constant(path) }, { weight: 1, arbitrary: oddQuery.map((query) => `${path}?${query}`) }),
      contentType: contentTypes,
      headers: oddHeaders,
      body,
    })
    .map(({ method, url, contentType, headers, body: text }) => ({ method, url, headers: { ...headers, 'content-type': contentType }, body: method === 'GET' || method === 'HEAD' ? undefined : text }))
}

const oddQuery = fc.array(fc.tuple(oddString, oddString), { maxLength: 4 }).map((list) => list.map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`).join('&'))

/** Path segments: encoded unicode, dots, slashes, bad escapes, and long ones. */
export const oddSegment = fc.oneof(
  { weight: 4, arbitrary: oddString.map((value) => percentEncode(value.slice(0, 300))) },
  { weight: 1, arbitrary: fc.constantFrom('..', '.', '%2e%2e', '%2F', '%00', '%ZZ', '%E0%A4%A', '%C0%AF', '~', '*', ';x=1', 'a'.repeat(250)) },
)

/** Requests to discovery, the JWKS and nearby paths with any method. */
export const wellKnownRequest: fc.Arbitrary<BadRequest> = fc
  .record({
    method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
    path: fc.oneof(
      fc.constantFrom('/.well-known/oauth-authorization-server', '/.well-known/jwks.json'),
      fc.tuple(fc.constantFrom('/.well-known/oauth-authorization-server', '/.well-known/jwks.json', '/.well-known', '/.well-known/openid-configuration', '/oauth', '/'), oddSegment).map(([base, segment]) => `${base}/${segment}`),
      fc.constantFrom('//.well-known/jwks.json', '/.well-known//jwks.json', '/.WELL-KNOWN/JWKS.JSON', '/.well-known/jwks.json/', '/.well-known/%6Awks.json'),
    ),
    query: fc.option(oddQuery, { nil: undefined }),
    contentType: fc.option(contentTypes, { nil: undefined }),
    headers: oddHeaders,
    body: fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
  })
  .map(({ method, path, query, contentType, headers, body }) => ({
    method,
    url: query === undefined ? path : `${path}?${query}`,
    headers: contentType === undefined ? headers : { ...headers, 'content-type': contentType },
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
  }))

/** A JSON body for sign-up and sign-in that is almost never a good one. */
const credentialsBody = fc.oneof(
  { weight: 4, arbitrary: fc.record({ email: fc.oneof(oddString, fc.jsonValue(), fc.emailAddress()), password: fc.oneof(fc.string({ maxLength: 7 }), fc.jsonValue(), fc.constant('x'.repeat(1025))) }, { requiredKeys: [] }).map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
  { weight: 1, arbitrary: fc.constantFrom('{', '{"email":', '[]', 'null', '"x"', '{"__proto__":{"admin":true}}') },
)

export interface OwnerCredentials {
  cookie: string
  csrf: string
}

/** Requests to the owner API: bodies, cookies and CSRF tokens that are wrong, sometimes a real session. */
export function ownerRequest(route: { method: string; path: (segment: string) => string; json?: boolean }, session: OwnerCredentials, known: KnownState): fc.Arbitrary<BadRequest> {
  const auth = fc.oneof(
    { weight: 2, arbitrary: fc.constant({}) },
    { weight: 3, arbitrary: fc.constant({ cookie: session.cookie, 'x-csrf-token': session.csrf }) },
    { weight: 1, arbitrary: headerValue.map((csrf) => ({ cookie: session.cookie, 'x-csrf-token': csrf })) },
    { weight: 1, arbitrary: headerValue.map((cookie) => ({ cookie, 'x-csrf-token': session.csrf })) },
    { weight: 1, arbitrary: headerValue.map((value) => ({ cookie: `countersign_session=${value}` })) },
  )
  const segment = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...known.userCodes, ...known.agentIds) },
    { weight: 2, arbitrary: fc.stringMatching(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z]{4}[ -]?[A-Za-z]{4}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^agt_[A-Za-z0-9_-]{16}$/) },
    { weight: 3, arbitrary: oddSegment },
  )
  return fc
    .record({
      method: fc.oneof({ weight: 8, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH') }),
      segment,
      auth,
      contentType: fc.oneof(fc.constant('application/json'), contentTypes),
      headers: oddHeaders,
      body: route.json ? credentialsBody : fc.option(credentialsBody, { nil: undefined }),
    })
    .map(({ method, segment: part, auth, contentType, headers, body }) => ({
      method,
      url: route.path(part),
      headers: { ...headers, ...auth, 'content-type': contentType },
      body: method === 'GET' || method === 'HEAD' || method === 'DELETE' ? undefined : body,
    }))
}

/** Markup a page must never echo unescaped. */
export const MARKUP = '"><b data-fuzz>x</b>'

export type ConsolePage = '/' | '/device' | '/agents'

/** GETs (mostly) of a console page: user codes real, near and odd, `next` links to elsewhere, cookies real and not. */
export function consoleRequest(page: ConsolePage, session: OwnerCredentials, known: KnownState): fc.Arbitrary<BadRequest> {
  const userCode = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...known.userCodes) },
    { weight: 2, arbitrary: fc.stringMatching(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-?[BCDFGHJKLMNPQRSTVWXZ]{4}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z]{4}[ -]?[A-Za-z]{4}$/) },
    { weight: 3, arbitrary: oddString },
    { weight: 1, arbitrary: fc.constant(MARKUP) },
  )
  const next = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom('/', '/device?user_code=BCDF-GHJK', '/agents', '/device#x', '/nope', '//evil.example', 'https://evil.example/', '/\\evil.example', '/%2F%2Fevil.example', 'javascript:alert(1)', `/device?user_code=${MARKUP}`) },
    { weight: 1, arbitrary: oddString },
  )
  const pair = fc.oneof(
    { weight: 4, arbitrary: userCode.map((value) => ['user_code', value] as const) },
    { weight: 2, arbitrary: next.map((value) => ['next', value] as const) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('user_code[]', 'user_code[a]', 'next[]', 'USER_CODE', 'user_code '), oddString) },
    { weight: 1, arbitrary: fc.tuple(oddString, oddString) },
  )
  const query = fc.array(pair, { maxLength: 3 }).map((pairs) => pairs.map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`).join('&'))
  const auth = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ cookie: session.cookie }) },
    { weight: 2, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: headerValue.map((value) => ({ cookie: `countersign_session=${value}` })) },
    { weight: 1, arbitrary: headerValue.map((cookie) => ({ cookie })) },
  )
  return fc
    .record({
      method: fc.oneof({ weight: 12, arbitrary: fc.constant('GET') }, { weight: 1, arbitrary: fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH') }),
      suffix: fc.oneof({ weight: 12, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('/', '//', '/x', '.html', '%2F', ';a=b', '%00') }),
      query: fc.option(query, { nil: undefined, freq: 4 }),
      auth,
      headers: oddHeaders,
      contentType: fc.option(contentTypes, { nil: undefined, freq: 4 }),
      body: fc.option(fc.string({ maxLength: 100 }), { nil: undefined, freq: 4 }),
    })
    .map(({ method, suffix, query, auth, headers, contentType, body }) => ({
      method,
      url: `${page}${suffix}${query === undefined ? '' : `?${query}`}`,
      headers: { ...headers, ...auth, ...(contentType === undefined ? {} : { 'content-type': contentType }) },
      body: method === 'GET' || method === 'HEAD' ? undefined : body,
    }))
}
