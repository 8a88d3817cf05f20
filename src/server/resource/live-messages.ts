/**
 * The message format of `/ws` (protocol §5), kept apart from the connection
 * that carries it: JSON text frames, one object each.
 *
 * client → server: `{ type: 'auth', token }`, `{ type: 'echo', id?, data? }`
 * server → client: `{ type: 'auth_ok', exp }`, the echo itself, and
 * `{ type: 'error', error: 'invalid_message', error_description, id? }` for a
 * message it could not use (the connection stays open).
 */

/** Close codes: 4401 and 4403 mirror HTTP 401 and 403 (protocol §5). */
export const CloseCodes = {
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** Too many messages wait for an answer: the client sends faster than it reads (see MAX_PENDING_*). */
  POLICY_VIOLATION: 1008,
  /** A binary frame: this endpoint speaks JSON text only. */
  UNSUPPORTED_DATA: 1003,
  /** The server failed to handle a message (its own fault). */
  INTERNAL_ERROR: 1011,
  /** The token expired without re-authentication, or an in-band token was refused. */
  UNAUTHORIZED: 4401,
  /** The token's family was revoked, or a token lacks the scope. */
  FORBIDDEN: 4403,
} as const

export type ClientMessage =
  | { type: 'auth'; token: string }
  | { type: 'echo'; message: Record<string, unknown> }

export type ParsedMessage = { ok: true; message: ClientMessage } | { ok: false; description: string; id?: unknown }

const MESSAGE_TYPES = ['auth', 'echo']

export function parseClientMessage(text: string): ParsedMessage {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, description: 'the message is not valid JSON' }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, description: 'the message must be a JSON object with a "type"' }
  }
  const object = value as Record<string, unknown>
  const id = idOf(object)
  if (typeof object.type !== 'string' || !MESSAGE_TYPES.includes(object.type)) {
    return { ok: false, id, description: `the message type must be one of ${MESSAGE_TYPES.map((type) => `"${type}"`).join(', ')}` }
  }
  if (object.type === 'auth') {
    if (typeof object.token !== 'string' || object.token === '') {
      return { ok: false, id, description: 'an auth message needs "token": the new access token as a non-empty string' }
    }
    return { ok: true, message: { type: 'auth', token: object.token } }
  }
  return { ok: true, message: { type: 'echo', message: object } }
}

/** A client's `id`, echoed in an error so the client can tell which message failed; only plain ids. */
function idOf(object: Record<string, unknown>): unknown {
  const id = object.id
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : undefined
}

export function errorMessage(description: string, id?: unknown): string {
  return JSON.stringify({ type: 'error', error: 'invalid_message', error_description: description, ...(id === undefined ? {} : { id }) })
}

export function authOkMessage(exp: number): string {
  return JSON.stringify({ type: 'auth_ok', exp })
}

/** WebSocket close reasons are at most 123 bytes of UTF-8. */
export function closeReason(text: string): string {
  const buffer = Buffer.from(text)
  return buffer.length <= 123 ? text : buffer.subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '') + '...'
}
