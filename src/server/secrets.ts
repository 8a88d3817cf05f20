/**
 * Random identifiers, user codes, device codes and password hashes.
 */
import { createHash, createHmac, randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto'

export function randomId(prefix: string, bytes = 16): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

/** RFC 8628 §6.1: base-20, no vowels, so codes spell no words and survive being read aloud. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'

export function newUserCode(): string {
  let code = ''
  for (let i = 0; i < 8; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]
  return `${code.slice(0, 4)}-${code.slice(4)}`
}

/**
 * The canonical form of what a human typed: upper case, alphabet characters
 * only, with the dash put back. Anything that cannot be a code gives null.
 */
export function normalizeUserCode(input: string): string | null {
  if (typeof input !== 'string' || input.length > 32) return null
  const letters = input.toUpperCase().replace(/[\s-]/g, '')
  if (letters.length !== 8) return null
  for (const char of letters) if (!USER_CODE_ALPHABET.includes(char)) return null
  return `${letters.slice(0, 4)}-${letters.slice(4)}`
}

/**
 * Device codes are derived from the approval id with an HMAC, so the server can
 * answer a repeated (idempotent) request with the same code without storing it.
 */
export function deviceCodeFor(approvalId: string, secret: string): string {
  return `${approvalId}.${createHmac('sha256', secret).update(approvalId).digest('base64url')}`
}

/** The approval id a device code names, or null when the code is not one of ours. */
export function approvalIdOf(deviceCode: string, secret: string): string | null {
  if (typeof deviceCode !== 'string' || deviceCode.length > 200) return null
  const dot = deviceCode.indexOf('.')
  if (dot <= 0) return null
  const approvalId = deviceCode.slice(0, dot)
  const given = Buffer.from(deviceCode.slice(dot + 1))
  const expected = Buffer.from(deviceCodeFor(approvalId, secret).slice(dot + 1))
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
  return approvalId
}

const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32 }

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { N, r, p, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key)))
  })
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLength)
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string]
  const expected = Buffer.from(hash, 'base64url')
  const key = await scryptAsync(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p), expected.length)
  return timingSafeEqual(key, expected)
}
