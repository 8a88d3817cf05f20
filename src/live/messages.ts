/**
 * The in-band message format of the live socket (protocol §5), kept apart
 * from the connection that carries it: JSON text frames, one value each.
 *
 * client → server: `{ type: 'auth', token }` re-authenticates the open
 * connection with a rotated token; `{ type: 'echo', id, data }` asks for the
 * same object back.
 * server → client: `{ type: 'auth_ok', exp }`; echo replies; the reference
 * server's `{ type: 'error', error, error_description, id? }` for a message
 * it could not use; anything else is the application's.
 *
 * Close codes and what they mean for a reconnect are defined with the
 * LiveSocket statechart (machines/ may import nothing from src/) and
 * re-exported here, so the wire format has them in one place.
 */
import { CountersignError, ErrorCodes } from '../errors.js'

export { CloseCodes, RECONNECT_CLOSE_CODES, closeCodeKind, upgradeStatusKind } from '../../machines/socket.policy.js'
export type { SocketFailureKind } from '../../machines/socket.types.js'

/** An echo id: what the caller uses to match a reply to its request. */
export type EchoId = string | number

/** A frame from the server, decoded. */
export type ServerMessage =
  /** The in-band `auth` was accepted; `exp` is the new token's expiry in unix seconds. */
  | { kind: 'auth_ok'; exp: number }
  /** An echo reply: the echo message as the server sent it back. */
  | { kind: 'echo'; id: EchoId | undefined; data: unknown }
  /** The server could not use a message the client sent; the connection stays open. */
  | { kind: 'error'; error: string; description: string; id: EchoId | undefined }
  /** Anything else: the application's own message, JSON-decoded, or the bytes of a binary frame. */
  | { kind: 'message'; data: unknown; binary: false }
  | { kind: 'message'; data: Uint8Array; binary: true }

/** The raw payload of a frame as `ws` delivers it (Buffer, ArrayBuffer, Buffer[] when fragmented) or as a string. */
export type RawFrame = string | Uint8Array | ArrayBuffer | readonly Uint8Array[]

/** `{ type: 'auth', token }` as the text of one frame. */
export function encodeAuth(token: string): string {
  if (typeof token !== 'string' || token.length === 0) throw new TypeError('token must be a non-empty string')
  return JSON.stringify({ type: 'auth', token })
}

/** `{ type: 'echo', id, data }` as the text of one frame; `data` is left out when undefined. */
export function encodeEcho(id: EchoId, data?: unknown): string {
  if (!isEchoId(id)) throw new TypeError('id must be a string or a finite number')
  const head = `{"type":"echo","id":${JSON.stringify(id)}`
  return data === undefined ? `${head}}` : `${head},"data":${jsonText(data)}}`
}

/**
 * Reads one frame from the server. Throws a CountersignError with code
 * `invalid_response` for a text frame that is not UTF-8 JSON, or for one of
 * the protocol's own messages that lacks a field it needs. The message says
 * what was wrong and how long the frame was, never what it held.
 */
export function decodeServerMessage(frame: RawFrame, isBinary = false): ServerMessage {
  const bytes = bytesOf(frame)
  if (isBinary) return { kind: 'message', data: bytes ?? new TextEncoder().encode(frame as string), binary: true }
  const text = bytes === null ? (frame as string) : utf8(bytes)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw invalid(`the server sent a WebSocket message that is not JSON (${text.length} characters)`, cause)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { kind: 'message', data: value, binary: false }
  const message = value as Record<string, unknown>
  switch (message.type) {
    case 'auth_ok': {
      if (typeof message.exp !== 'number' || !Number.isFinite(message.exp) || message.exp <= 0) {
        throw invalid('the server sent an auth_ok message without a numeric "exp" (unix seconds)')
      }
      return { kind: 'auth_ok', exp: message.exp }
    }
    case 'echo':
      return { kind: 'echo', id: idOf(message, 'an echo reply'), data: message.data }
    case 'error': {
      if (typeof message.error !== 'string' || message.error.length === 0) {
        throw invalid('the server sent an error message without an "error" code')
      }
      const description = typeof message.error_description === 'string' ? message.error_description : ''
      return { kind: 'error', error: message.error, description, id: idOf(message, 'an error message') }
    }
    default:
      return { kind: 'message', data: message, binary: false }
  }
}

function isEchoId(id: unknown): id is EchoId {
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))
}

function idOf(message: Record<string, unknown>, what: string): EchoId | undefined {
  if (message.id === undefined) return undefined
  if (!isEchoId(message.id)) throw invalid(`the server sent ${what} whose "id" is neither a string nor a finite number`)
  return message.id
}

/** `data` as JSON text; what JSON cannot carry at all (a function, a cycle, a BigInt) is the caller's mistake. */
function jsonText(data: unknown): string {
  let text: string | undefined
  try {
    text = JSON.stringify(data)
  } catch (cause) {
    throw new TypeError('data must be JSON-serializable', { cause })
  }
  if (text === undefined) throw new TypeError('data must be JSON-serializable')
  return text
}

function bytesOf(frame: RawFrame): Uint8Array | null {
  if (typeof frame === 'string') return null
  if (frame instanceof Uint8Array) return frame
  if (frame instanceof ArrayBuffer) return new Uint8Array(frame)
  if (Array.isArray(frame)) return Buffer.concat(frame as Uint8Array[])
  throw new TypeError('frame must be a string, a Uint8Array, an ArrayBuffer or an array of Uint8Arrays')
}

const decoder = new TextDecoder('utf-8', { fatal: true })

function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes)
  } catch (cause) {
    throw invalid(`the server sent a text WebSocket message that is not valid UTF-8 (${bytes.length} bytes)`, cause)
  }
}

function invalid(message: string, cause?: unknown): CountersignError {
  return new CountersignError(ErrorCodes.INVALID_RESPONSE, message, cause === undefined ? {} : { cause })
}
