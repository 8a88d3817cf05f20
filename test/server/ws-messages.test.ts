import { describe, expect, it } from 'vitest'
import { authOkMessage, closeReason, errorMessage, parseClientMessage } from '../../src/server/resource/live-messages.js'

describe('parseClientMessage', () => {
  it('reads an auth message with its token', () => {
    expect(parseClientMessage('{"type":"auth","token":"eyJ.a.b"}')).toEqual({ ok: true, message: { type: 'auth', token: 'eyJ.a.b' } })
  })

  it('reads an echo message as the whole object, unknown fields included', () => {
    const text = '{"type":"echo","id":3,"data":{"a":[1,2]},"extra":true}'
    expect(parseClientMessage(text)).toEqual({ ok: true, message: { type: 'echo', message: JSON.parse(text) } })
  })

  it.each([
    ['', 'the message is not valid JSON'],
    ['{"type":', 'the message is not valid JSON'],
    ['42', 'the message must be a JSON object with a "type"'],
    ['"echo"', 'the message must be a JSON object with a "type"'],
    ['[{"type":"echo"}]', 'the message must be a JSON object with a "type"'],
    ['null', 'the message must be a JSON object with a "type"'],
    ['{}', 'the message type must be one of "auth", "echo"'],
    ['{"type":"AUTH","token":"x"}', 'the message type must be one of "auth", "echo"'],
    ['{"type":"auth"}', 'an auth message needs "token": the new access token as a non-empty string'],
    ['{"type":"auth","token":""}', 'an auth message needs "token": the new access token as a non-empty string'],
    ['{"type":"auth","token":["x"]}', 'an auth message needs "token": the new access token as a non-empty string'],
  ])('refuses %j: %s', (text, description) => {
    expect(parseClientMessage(text)).toEqual({ ok: false, description })
  })

  it('keeps a plain string or number id so the error can name the message, and drops other ids', () => {
    expect(parseClientMessage('{"type":"x","id":"m-1"}')).toEqual({ ok: false, id: 'm-1', description: 'the message type must be one of "auth", "echo"' })
    expect(parseClientMessage('{"type":"x","id":7}')).toEqual({ ok: false, id: 7, description: 'the message type must be one of "auth", "echo"' })
    expect(parseClientMessage('{"type":"x","id":{"a":1}}')).toEqual({ ok: false, id: undefined, description: 'the message type must be one of "auth", "echo"' })
  })
})

describe('server messages', () => {
  it('writes an error with the id only when there is one', () => {
    expect(JSON.parse(errorMessage('bad', 4))).toEqual({ type: 'error', error: 'invalid_message', error_description: 'bad', id: 4 })
    expect(JSON.parse(errorMessage('bad'))).toEqual({ type: 'error', error: 'invalid_message', error_description: 'bad' })
  })

  it('writes auth_ok with the new expiry in unix seconds', () => {
    expect(JSON.parse(authOkMessage(1_800_000_000))).toEqual({ type: 'auth_ok', exp: 1_800_000_000 })
  })

  it('cuts close reasons to the 123 bytes a close frame allows, without splitting a character', () => {
    expect(closeReason('short')).toBe('short')
    const long = closeReason('é'.repeat(100))
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(123)
    expect(long.endsWith('é...')).toBe(true)
  })
})
