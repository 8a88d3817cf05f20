import { describe, expect, it } from 'vitest'
import * as countersign from 'countersign'

describe('the live clients from the package entry', () => {
  it('exports both clients, the token-source adapters and the message format', () => {
    expect(typeof countersign.createHttpClient).toBe('function')
    expect(typeof countersign.LiveSocket).toBe('function')
    for (const name of ['cachingAuthenticator', 'authenticatorFor', 'getAuthTokenOf', 'getAuthHeaderOf', 'tokenSourceOf', 'tokenSourceOfAuthenticator', 'encodeEcho', 'encodeAuth', 'decodeServerMessage'] as const) {
      expect(typeof countersign[name]).toBe('function')
    }
    expect(countersign.CloseCodes).toMatchObject({ TOKEN_INVALID: 4401, REVOKED: 4403 })
  })
})
