import { describe, expect, it } from 'vitest'
import { bearerCredentials, insufficientScope, invalidToken, missingToken } from '../../src/server/resource/bearer.js'

describe('bearerCredentials', () => {
  it('finds the token of a Bearer header, whatever the case of the scheme', () => {
    expect(bearerCredentials('Bearer abc.DEF-_~+/=')).toEqual({ kind: 'token', token: 'abc.DEF-_~+/=' })
    expect(bearerCredentials('BEARER abc')).toEqual({ kind: 'token', token: 'abc' })
  })

  it('finds no credentials without a header or with another scheme', () => {
    expect(bearerCredentials(undefined)).toEqual({ kind: 'missing' })
    expect(bearerCredentials('')).toEqual({ kind: 'missing' })
    expect(bearerCredentials('Basic dXNlcjpwYXNz')).toEqual({ kind: 'missing' })
    expect(bearerCredentials('Bearerabc')).toEqual({ kind: 'missing' })
  })

  it('calls a Bearer header without a usable token malformed, and says why', () => {
    expect(bearerCredentials('Bearer')).toEqual({ kind: 'malformed', reason: 'the Authorization header names the Bearer scheme but carries no token' })
    expect(bearerCredentials('Bearer   ')).toEqual({ kind: 'malformed', reason: 'the Authorization header names the Bearer scheme but carries no token' })
    expect(bearerCredentials('Bearer a b')).toEqual({ kind: 'malformed', reason: 'the Bearer token in the Authorization header has characters a token cannot have' })
    expect(bearerCredentials('Bearer a=b')).toEqual({ kind: 'malformed', reason: 'the Bearer token in the Authorization header has characters a token cannot have' })
    expect(bearerCredentials(['Bearer a', 'Bearer b'])).toEqual({ kind: 'malformed', reason: 'the request has more than one Authorization header' })
  })
})

describe('challenges', () => {
  it('names only the realm when no token was sent (RFC 6750 §3.1)', () => {
    expect(missingToken({ realm: 'api' }).challenge).toBe('Bearer realm="api"')
  })

  it('names invalid_token with its description', () => {
    expect(invalidToken('the access token has expired', { realm: 'api' })).toEqual({
      status: 401,
      body: { error: 'invalid_token', error_description: 'the access token has expired' },
      challenge: 'Bearer realm="api", error="invalid_token", error_description="the access token has expired"',
    })
  })

  it('names insufficient_scope with the scope that would do', () => {
    expect(insufficientScope('needs write', 'agent:write', { realm: 'api' }).challenge).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="needs write", scope="agent:write"',
    )
    expect(insufficientScope('no', undefined, { realm: 'api' }).challenge).toBe('Bearer realm="api", error="insufficient_scope", error_description="no"')
  })

  it('keeps quoted values within the characters RFC 6750 allows', () => {
    const { challenge } = invalidToken('a "quoted" \\ näme', { realm: 'r"x' })
    expect(challenge).toBe('Bearer realm="r\'x", error="invalid_token", error_description="a \'quoted\' \' n?me"')
  })
})
