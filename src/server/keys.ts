/**
 * The server's ES256 signing key: made on first start, kept in the data file,
 * published at the JWKS endpoint.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import type { ServerDatabase } from './database.js'
import type { SigningKeyRecord } from './model.js'

export interface SigningKey {
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
}

/** Loads the newest signing key, making and saving one when there is none. */
export async function loadSigningKey(database: ServerDatabase, now: number): Promise<SigningKey> {
  let record = database.data.signingKeys.at(-1)
  if (!record) {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const publicJwk = await exportJWK(publicKey)
    const kid = await calculateJwkThumbprint(publicJwk)
    record = {
      kid,
      alg: 'ES256',
      privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
      publicJwk: { ...publicJwk, kid, alg: 'ES256', use: 'sig' },
      createdAt: now,
    } satisfies SigningKeyRecord
    database.data.signingKeys.push(record)
    await database.save()
  }
  const privateKey = (await importJWK(record.privateJwk as JWK, 'ES256')) as CryptoKey
  return { kid: record.kid, privateKey, publicJwk: record.publicJwk as JWK }
}

/** Every published key (a rotated-out key stays published while tokens signed by it may live). */
export function jwks(database: ServerDatabase): { keys: JWK[] } {
  return { keys: database.data.signingKeys.map((key) => key.publicJwk as JWK) }
}
