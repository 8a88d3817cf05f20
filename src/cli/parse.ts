/**
 * Parsers for option values; each error names the option and the bad value
 * (unless the value may hold a secret). They refuse what the runtime or the
 * server would refuse as a bad argument, so that is a usage error (exit 2)
 * and not a failure met later.
 */
import { InvalidArgumentError } from 'commander'
import { parseTrustProxy } from '../server/options.js'

export function seconds(flag: string) {
  return (value: string): number => {
    const number = Number(value)
    if (value.trim() === '' || !Number.isFinite(number) || number <= 0) {
      throw new InvalidArgumentError(`${flag} must be a positive number of seconds (got "${value}")`)
    }
    return number
  }
}

export function positiveInteger(flag: string) {
  return (value: string): number => {
    const number = Number(value)
    if (!/^\d+$/.test(value) || number < 1) throw new InvalidArgumentError(`${flag} must be a whole number of at least 1 (got "${value}")`)
    return number
  }
}

export function port(value: string): number {
  const number = Number(value)
  if (!/^\d+$/.test(value) || number > 65535) throw new InvalidArgumentError(`--port must be a whole number from 0 to 65535 (got "${value}")`)
  return number
}

/**
 * EMAIL:PASSWORD, or null when malformed. It does not throw: the caller
 * reports null without repeating the value, which holds a password.
 */
export function ownerCredentials(value: string): { email: string; password: string } | null {
  const colon = value.indexOf(':')
  const email = colon > 0 ? value.slice(0, colon) : ''
  const password = colon > 0 ? value.slice(colon + 1) : ''
  if (!email.includes('@') || password.length < 8) return null
  return { email, password }
}

export const OWNER_USAGE = '--owner must be EMAIL:PASSWORD with a password of at least 8 characters'

/** A server's base URL: http(s), without a query, a fragment or credentials (an issuer identifier, RFC 8414 §2). */
export function url(flag: string) {
  return (value: string): string => {
    let parsed: URL | null = null
    try {
      parsed = new URL(value)
    } catch {
      // reported below
    }
    if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) throw new InvalidArgumentError(`${flag} must be an http(s) URL (got "${value}")`)
    // Not repeated: the value holds a password.
    if (parsed.username !== '' || parsed.password !== '') throw new InvalidArgumentError(`${flag} must not carry credentials (user:password@)`)
    if (/[?#]/.test(value)) throw new InvalidArgumentError(`${flag} must have no query or fragment (got "${value}")`)
    return value.replace(/\/+$/, '')
  }
}

/** A name, a handle, an id or a host: not empty, not only spaces. */
export function nonEmpty(flag: string) {
  return (value: string): string => {
    if (value.trim() === '') throw new InvalidArgumentError(`${flag} must not be empty`)
    return value
  }
}

/** Space-separated scope names (RFC 6749 §3.3), as the runtime takes them (AuthManager's register and login). */
export function scopes(flag: string) {
  return (value: string): string => {
    if (!/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(value)) throw new InvalidArgumentError(`${flag} must be scope names separated by single spaces (got "${value}")`)
    return value
  }
}

/** A comma-separated list of proxy addresses and CIDR ranges, checked as the server checks it. */
export function proxyList(flag: string) {
  return (value: string): string => {
    try {
      parseTrustProxy(value, flag)
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message)
    }
    return value
  }
}
