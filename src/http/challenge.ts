/**
 * Reading `WWW-Authenticate` (RFC 9110 §11.6.1, RFC 6750 §3): the Bearer
 * challenge's auth-params, so a 403 `insufficient_scope` becomes a typed
 * error with the scopes the resource server named.
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/

/**
 * The auth-params of the first challenge with `scheme` (case-insensitive),
 * names lower-cased; null when the header has no such challenge. Malformed
 * parts end the reading of that challenge instead of throwing: a header is
 * the server's, and a bad one must not hide the status.
 */
export function challengeParams(header: string | null, scheme = 'Bearer'): Record<string, string> | null {
  if (header === null) return null
  let rest = header
  let inScheme = false
  let params: Record<string, string> | null = null
  for (;;) {
    rest = rest.replace(/^[\s,]+/, '')
    if (rest === '') return params
    const name = TOKEN.exec(rest)?.[0]
    if (!name) return params
    const after = rest.slice(name.length).replace(/^\s*/, '')
    if (after.startsWith('=')) {
      // An auth-param `name=value` (a token68 ending in '=' has no value after it and is skipped).
      const valueText = after.slice(1).replace(/^\s*/, '')
      const bare = TOKEN.exec(valueText)?.[0] ?? ''
      // A token68's padding ('abc==') has no value: skip the '='s.
      const value = valueText.startsWith('"') ? quoted(valueText) : { value: bare, length: bare.length || /^=*/.exec(valueText)![0].length }
      if (value === null) return params
      if (inScheme && params && !(name.toLowerCase() in params)) params[name.toLowerCase()] = value.value
      rest = valueText.slice(value.length)
      continue
    }
    // A new challenge starts with its scheme name.
    if (params !== null) return params
    inScheme = name.toLowerCase() === scheme.toLowerCase()
    if (inScheme) params = {}
    rest = after
  }
}

/** A quoted-string at the start of `text`: its unescaped value and its length, or null when unterminated. */
function quoted(text: string): { value: string; length: number } | null {
  let value = ''
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!
    if (c === '\\' && i + 1 < text.length) {
      value += text[++i]
    } else if (c === '"') {
      return { value, length: i + 1 }
    } else {
      value += c
    }
  }
  return null
}

/** The scopes of a `Bearer error="insufficient_scope"` challenge, or null when the header is not one. */
export function insufficientScopeOf(header: string | null): string[] | null {
  const params = challengeParams(header)
  if (params?.error !== 'insufficient_scope') return null
  return (params.scope ?? '').split(' ').filter((scope) => scope.length > 0)
}
