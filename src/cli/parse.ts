/**
 * Parsers for option values; each error names the option and the bad value.
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

export function url(flag: string) {
  return (value: string): string => {
    try {
      const parsed = new URL(value)
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return value.replace(/\/+$/, '')
    } catch {
      // reported below
    }
    throw new InvalidArgumentError(`${flag} must be an http(s) URL (got "${value}")`)
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
