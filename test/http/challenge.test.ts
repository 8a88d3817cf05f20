import { describe, expect, it } from 'vitest'
import { challengeParams, insufficientScopeOf } from '../../src/http/challenge.js'

describe('WWW-Authenticate challenges', () => {
  it('reads the Bearer auth-params, quoted and bare, with escapes, names lower-cased', () => {
    expect(challengeParams('Bearer realm="countersign", error="insufficient_scope", error_description="needs \\"agent\\"", scope="agent:read agent"')).toEqual({
      realm: 'countersign',
      error: 'insufficient_scope',
      error_description: 'needs "agent"',
      scope: 'agent:read agent',
    })
    expect(challengeParams('bearer Error=invalid_token')).toEqual({ error: 'invalid_token' })
    expect(challengeParams('Bearer')).toEqual({})
  })

  it('finds the Bearer challenge among others and stops at the next one', () => {
    expect(challengeParams('Basic realm="a", Bearer error="invalid_token", DPoP algs="ES256"')).toEqual({ error: 'invalid_token' })
    expect(challengeParams('Negotiate abc123==, Bearer scope="x"')).toEqual({ scope: 'x' })
  })

  it('has no params without a Bearer challenge or header, and reads a malformed header up to where it breaks', () => {
    expect(challengeParams(null)).toBeNull()
    expect(challengeParams('Basic realm="a"')).toBeNull()
    expect(challengeParams('Bearer error="insufficient_scope", scope="unterminated')).toEqual({ error: 'insufficient_scope' })
    expect(challengeParams('Bearer error="x", "stray"')).toEqual({ error: 'x' })
  })

  it('gives the scopes of an insufficient_scope challenge, and null for any other', () => {
    expect(insufficientScopeOf('Bearer error="insufficient_scope", scope="agent:read  agent"')).toEqual(['agent:read', 'agent'])
    expect(insufficientScopeOf('Bearer error="insufficient_scope"')).toEqual([])
    expect(insufficientScopeOf('Bearer error="invalid_token"')).toBeNull()
    expect(insufficientScopeOf(null)).toBeNull()
  })
})
