import { describe, expect, it } from 'vitest'
import { CountersignError, ErrorCodes } from '../../src/errors.js'
import {
  CloseCodes,
  closeCodeKind,
  decodeServerMessage,
  encodeAuth,
  encodeEcho,
  RECONNECT_CLOSE_CODES,
  upgradeStatusKind,
} from '../../src/live/messages.js'

const utf8 = (text: string) => Buffer.from(text, 'utf8')

/** Runs `fn`, expecting it to throw; returns what it threw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

function expectInvalid(fn: () => unknown, message: string): void {
  const error = thrown(fn)
  expect(error).toBeInstanceOf(CountersignError)
  expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE, message })
}

describe('live messages: client messages', () => {
  it('encodes an in-band auth as one JSON text frame', () => {
    expect(encodeAuth('eyJhbGciOiJFUzI1NiJ9.x.y')).toBe('{"type":"auth","token":"eyJhbGciOiJFUzI1NiJ9.x.y"}')
  })

  it.each([[''], [undefined], [42]])('refuses the token %j with a TypeError naming it, without echoing it', (token) => {
    expect(() => encodeAuth(token as never)).toThrow(new TypeError('token must be a non-empty string'))
  })

  it('encodes an echo with its id and data, and leaves out data that is undefined', () => {
    expect(encodeEcho(7, { n: 1, s: 'é' })).toBe('{"type":"echo","id":7,"data":{"n":1,"s":"é"}}')
    expect(encodeEcho('m-1', [1, null])).toBe('{"type":"echo","id":"m-1","data":[1,null]}')
    expect(encodeEcho('m-2')).toBe('{"type":"echo","id":"m-2"}')
    expect(JSON.parse(encodeEcho('a"b', 'x'))).toEqual({ type: 'echo', id: 'a"b', data: 'x' })
  })

  it.each([[Number.NaN], [Number.POSITIVE_INFINITY], [null], [{}], [undefined]])('refuses the echo id %j with a TypeError naming it', (id) => {
    expect(() => encodeEcho(id as never, 1)).toThrow(new TypeError('id must be a string or a finite number'))
  })

  it('refuses echo data JSON cannot carry with a TypeError naming it', () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    for (const data of [cycle, 10n, () => 1, Symbol('s')]) {
      expect(() => encodeEcho(1, data)).toThrow(new TypeError('data must be JSON-serializable'))
    }
  })
})

describe('live messages: server messages', () => {
  it('decodes auth_ok with its expiry, from text or from the raw bytes ws delivers', () => {
    const raw = '{"type":"auth_ok","exp":1767229200}'
    const expected = { kind: 'auth_ok', exp: 1767229200 }
    expect(decodeServerMessage(raw)).toEqual(expected)
    expect(decodeServerMessage(utf8(raw))).toEqual(expected)
    const bytes = utf8(raw)
    expect(decodeServerMessage(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))).toEqual(expected)
    expect(decodeServerMessage([utf8('{"type":"auth_'), utf8('ok","exp":1767229200}')])).toEqual(expected)
  })

  it.each([
    '{"type":"auth_ok"}',
    '{"type":"auth_ok","exp":"1767229200"}',
    '{"type":"auth_ok","exp":-1}',
    '{"type":"auth_ok","exp":null}',
  ])('refuses the auth_ok %s that carries no usable exp', (raw) => {
    expectInvalid(() => decodeServerMessage(raw), 'the server sent an auth_ok message without a numeric "exp" (unix seconds)')
  })

  it('decodes an echo reply with its id and data', () => {
    expect(decodeServerMessage('{"type":"echo","id":3,"data":{"seq":3}}')).toEqual({ kind: 'echo', id: 3, data: { seq: 3 } })
    expect(decodeServerMessage('{"type":"echo","id":"a"}')).toEqual({ kind: 'echo', id: 'a', data: undefined })
    expect(decodeServerMessage('{"type":"echo"}')).toEqual({ kind: 'echo', id: undefined, data: undefined })
  })

  it('refuses an echo reply whose id is neither a string nor a number', () => {
    expectInvalid(() => decodeServerMessage('{"type":"echo","id":{"x":1}}'), 'the server sent an echo reply whose "id" is neither a string nor a finite number')
  })

  it("decodes the reference server's error message for a message it could not use", () => {
    const raw = '{"type":"error","error":"invalid_message","error_description":"the message is not valid JSON","id":9}'
    expect(decodeServerMessage(raw)).toEqual({ kind: 'error', error: 'invalid_message', description: 'the message is not valid JSON', id: 9 })
    expect(decodeServerMessage('{"type":"error","error":"invalid_message"}')).toEqual({ kind: 'error', error: 'invalid_message', description: '', id: undefined })
    expectInvalid(() => decodeServerMessage('{"type":"error"}'), 'the server sent an error message without an "error" code')
  })

  it('hands anything else to the application as a message: other objects, arrays, scalars', () => {
    expect(decodeServerMessage('{"type":"tick","n":1}')).toEqual({ kind: 'message', data: { type: 'tick', n: 1 }, binary: false })
    expect(decodeServerMessage('{"n":1}')).toEqual({ kind: 'message', data: { n: 1 }, binary: false })
    expect(decodeServerMessage('[1,2]')).toEqual({ kind: 'message', data: [1, 2], binary: false })
    expect(decodeServerMessage('42')).toEqual({ kind: 'message', data: 42, binary: false })
    expect(decodeServerMessage('null')).toEqual({ kind: 'message', data: null, binary: false })
  })

  it('hands a binary frame to the application as its bytes, unparsed', () => {
    const bytes = Uint8Array.of(0, 255, 10)
    expect(decodeServerMessage(bytes, true)).toEqual({ kind: 'message', data: bytes, binary: true })
  })

  it('refuses a text frame that is not JSON, saying how long it was but not what it held', () => {
    const error = thrown(() => decodeServerMessage('secret-looking {not json'))
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RESPONSE, message: 'the server sent a WebSocket message that is not JSON (24 characters)' })
    expect((error as Error).message).not.toContain('secret')
    expect((error as Error).cause).toBeInstanceOf(SyntaxError)
    expectInvalid(() => decodeServerMessage(''), 'the server sent a WebSocket message that is not JSON (0 characters)')
  })

  it('refuses a text frame that is not valid UTF-8', () => {
    expectInvalid(() => decodeServerMessage(Uint8Array.of(0x7b, 0xff, 0x7d)), 'the server sent a text WebSocket message that is not valid UTF-8 (3 bytes)')
  })

  it('refuses a frame of a type ws never delivers with a TypeError naming it', () => {
    expect(() => decodeServerMessage({} as never)).toThrow(new TypeError('frame must be a string, a Uint8Array, an ArrayBuffer or an array of Uint8Arrays'))
  })
})

describe('live messages: close codes', () => {
  it('names the close codes of protocol §5 and the ones that mean "reconnect"', () => {
    expect(CloseCodes.TOKEN_INVALID).toBe(4401)
    expect(CloseCodes.REVOKED).toBe(4403)
    expect(RECONNECT_CLOSE_CODES).toEqual([1006, 1011, 1012, 1013])
  })

  it('says what a close or a refused upgrade means for the connection', () => {
    expect(closeCodeKind(4401)).toBe('unauthorized')
    expect(closeCodeKind(4403)).toBe('revoked')
    expect(RECONNECT_CLOSE_CODES.map(closeCodeKind)).toEqual(['dropped', 'dropped', 'dropped', 'dropped'])
    expect([401, 503, 429, 404].map(upgradeStatusKind)).toEqual(['unauthorized', 'dropped', 'dropped', 'refused'])
  })
})
