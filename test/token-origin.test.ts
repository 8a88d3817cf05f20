/**
 * Both live clients take their token from exactly one of `tokenProvider` or
 * `auth`. Naming both or neither must not type-check: each `@ts-expect-error`
 * below fails `npm run typecheck` if the option types ever accept the line.
 * The same calls also throw at run time, for callers without types.
 */
import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../src/http/client.js'
import { LiveSocket } from '../src/live/socket.js'
import type { AuthSource, TokenSource } from '../src/token-source.js'

const tokenProvider: TokenSource = async () => 'token'
const auth: AuthSource = { tokenProvider: async () => 'token', forceRefresh: async () => {} }
const baseUrl = 'http://127.0.0.1:9'
const url = 'ws://127.0.0.1:9/ws'

describe('the token origin of the live clients', () => {
  it('createHttpClient() takes { baseUrl, tokenProvider } or { baseUrl, auth }, not both, not neither', () => {
    expect(createHttpClient({ baseUrl, tokenProvider }).baseUrl).toBe(`${baseUrl}/`)
    expect(createHttpClient({ baseUrl, auth }).baseUrl).toBe(`${baseUrl}/`)
    // @ts-expect-error both tokenProvider and auth
    expect(() => createHttpClient({ baseUrl, tokenProvider, auth })).toThrow(new TypeError('options must name either tokenProvider or auth, not both'))
    // @ts-expect-error neither tokenProvider nor auth
    expect(() => createHttpClient({ baseUrl })).toThrow(new TypeError('options.tokenProvider must be a function returning a Promise of the access token (or pass options.auth)'))
  })

  it('new LiveSocket() takes { url, tokenProvider } or { url, auth }, not both, not neither', async () => {
    for (const socket of [new LiveSocket({ url, tokenProvider }, { tokenCheckIntervalMs: false }), new LiveSocket({ url, auth })]) await socket.close()
    // @ts-expect-error both tokenProvider and auth
    expect(() => new LiveSocket({ url, tokenProvider, auth })).toThrow(new TypeError('target must name either tokenProvider or auth, not both'))
    // @ts-expect-error neither tokenProvider nor auth
    expect(() => new LiveSocket({ url })).toThrow(new TypeError('target.tokenProvider must be a function returning a Promise of the access token (or pass target.auth)'))
  })

  it('an options object built apart keeps its kind: a variable typed as the union is accepted', () => {
    const origins: Array<{ tokenProvider: TokenSource } | { auth: AuthSource }> = [{ tokenProvider }, { auth }]
    for (const origin of origins) expect(createHttpClient({ baseUrl, ...origin }).baseUrl).toBe(`${baseUrl}/`)
  })
})
