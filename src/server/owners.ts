/**
 * Owners: the humans who approve agents. Emails are compared case-insensitively.
 */
import type { ServerDatabase } from './database.js'
import type { OwnerRecord } from './model.js'
import { hashPassword, randomId, verifyPassword } from './secrets.js'

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/

export function checkOwnerCredentials(email: unknown, password: unknown): string | null {
  if (typeof email !== 'string' || !EMAIL.test(email)) return 'email must be an email address'
  if (typeof password !== 'string' || password.length < 8 || password.length > 1024) return 'password must be 8 to 1024 characters'
  return null
}

/** Creates an owner, or returns null when the email is taken. The caller saves. */
export async function createOwner(db: ServerDatabase, email: string, password: string, now: number): Promise<OwnerRecord | null> {
  if (db.ownersByEmail.has(email.toLowerCase())) return null
  const passwordHash = await hashPassword(password)
  // Checked again: another sign-up may have taken the email while the hash was computed.
  if (db.ownersByEmail.has(email.toLowerCase())) return null
  const owner: OwnerRecord = { id: randomId('own', 12), email, passwordHash, createdAt: now }
  db.addOwner(owner)
  return owner
}

/** The owner with these credentials, or null. Takes as long for an unknown email as for a wrong password. */
export async function authenticateOwner(db: ServerDatabase, email: string, password: string): Promise<OwnerRecord | null> {
  const owner = db.ownersByEmail.get(email.toLowerCase())
  const ok = await verifyPassword(password, owner?.passwordHash ?? DUMMY_HASH)
  return owner && ok ? owner : null
}

const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
