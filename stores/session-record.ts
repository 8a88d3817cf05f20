/**
 * Checks and shapes session records for every backend, so that all of them
 * accept, refuse and hand out exactly the same data. A record is normalized to
 * what a JSON file would give back (the memory store then behaves like the
 * file store) and frozen, so no caller can change a store's state behind it.
 */
import { CountersignError, ErrorCodes } from '../src/errors.js'
import type { MachineEnvelope, SessionData, SessionInput, SessionRecord, WriteOptions } from './contract.js'

const fields = ['agentId', 'accessToken', 'refreshToken', 'accessExpiresAt', 'refreshExpiresAt', 'scope', 'issuer', 'machine'] as const
const stringFields = ['agentId', 'accessToken', 'refreshToken', 'scope', 'issuer'] as const
const timeFields = ['accessExpiresAt', 'refreshExpiresAt'] as const
const known = new Set<string>([...fields, 'version'])

/**
 * Turns what a caller passed to `save()` into clean session data, or throws a
 * TypeError naming the bad part. The snapshot is a copy, as a JSON file would
 * give it back.
 */
export function toSessionData(input: SessionInput, name = 'record'): SessionData {
  const data = checkedSessionData(input, name)
  if (data.machine === null) return data
  const snapshot = serializeSnapshot(() => JSON.stringify(data.machine!.snapshot), `${name}.machine`)
  // The round trip gives the memory store exactly what a file would give back.
  return { ...data, machine: { ...data.machine, snapshot: JSON.parse(snapshot) as unknown } }
}

/**
 * The same checks as `toSessionData()`, without copying the snapshot: for a
 * backend that serializes the data itself (once) and hands out records made
 * from what it stored. The snapshot is still the caller's object.
 */
export function checkedSessionData(input: SessionInput, name = 'record'): SessionData {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new TypeError(`${name} must be an object`)
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new TypeError(`${name}.${key} is not a session field (expected one of ${fields.join(', ')})`)
  }
  const data: Record<string, unknown> = {}
  for (const key of stringFields) {
    const value = input[key] ?? null
    if (value !== null && typeof value !== 'string') throw new TypeError(`${name}.${key} must be a string or null`)
    data[key] = value
  }
  for (const key of timeFields) {
    const value = input[key] ?? null
    if (value !== null && !isEpochMs(value)) throw new TypeError(`${name}.${key} must be a time in epoch ms or null`)
    data[key] = value
  }
  data.machine = input.machine == null ? null : toEnvelope(input.machine, `${name}.machine`)
  return data as unknown as SessionData
}

function toEnvelope(envelope: MachineEnvelope, name: string): MachineEnvelope {
  if (typeof envelope !== 'object' || envelope === null) throw new TypeError(`${name} must be an object or null`)
  if (!Number.isInteger(envelope.schemaVersion)) throw new TypeError(`${name}.schemaVersion must be an integer`)
  if (!isEpochMs(envelope.savedAt)) throw new TypeError(`${name}.savedAt must be a time in epoch ms`)
  if (!isJsonValue(envelope.snapshot, name)) throw new TypeError(`${name}.snapshot must be a JSON value`)
  return { schemaVersion: envelope.schemaVersion, savedAt: envelope.savedAt, snapshot: envelope.snapshot }
}

/** False for what JSON.stringify() turns into nothing at all (a file would lose the snapshot); without serializing, but for an object with its own toJSON(). */
function isJsonValue(value: unknown, name: string): boolean {
  const kind = typeof value
  if (kind === 'undefined' || kind === 'function' || kind === 'symbol') return false
  if (kind !== 'object' || value === null || typeof (value as { toJSON?: unknown }).toJSON !== 'function') return true
  return serializeSnapshot(() => JSON.stringify(value) as string | undefined, name) !== undefined
}

/** Runs the serialization of data holding a snapshot; a snapshot JSON cannot hold (a BigInt, a cycle) is the caller's TypeError. */
export function serializeSnapshot<T extends string | undefined>(serialize: () => T, name = 'record.machine'): T {
  try {
    return serialize()
  } catch (cause) {
    throw new TypeError(`${name}.snapshot must be JSON-serializable`, { cause })
  }
}

/** A frozen record: the data plus the store's version. The snapshot is frozen all the way down. */
export function toRecord(data: SessionData, version: number): SessionRecord {
  const machine = data.machine === null ? null : Object.freeze({ ...data.machine, snapshot: deepFreeze(data.machine.snapshot) })
  return Object.freeze({ version, ...data, machine })
}

/**
 * A frozen record whose snapshot is read from what the backend stored only
 * when someone reads it (most saved records are never looked into): parsed
 * by `readSnapshot` the first time, frozen all the way down, and the same
 * object every time after.
 */
export function toRecordReadingSnapshot(data: SessionData, version: number, readSnapshot: () => unknown): SessionRecord {
  if (data.machine === null) return toRecord(data, version)
  const { schemaVersion, savedAt } = data.machine
  let read: (() => unknown) | null = readSnapshot
  let snapshot: unknown
  const machine = Object.freeze({
    schemaVersion,
    savedAt,
    get snapshot(): unknown {
      if (read !== null) {
        snapshot = deepFreeze(read())
        read = null
      }
      return snapshot
    },
  })
  return Object.freeze({ version, ...data, machine })
}

/** Shape check for data read back from a backend (a file, a Redis value). */
export function isSessionData(value: unknown): value is SessionData {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const data = value as Record<string, unknown>
  for (const key of stringFields) if (data[key] !== null && typeof data[key] !== 'string') return false
  for (const key of timeFields) if (data[key] !== null && !isEpochMs(data[key])) return false
  const machine = data.machine
  if (machine === null) return true
  if (typeof machine !== 'object' || machine === undefined || Array.isArray(machine)) return false
  const envelope = machine as Record<string, unknown>
  return Number.isInteger(envelope.schemaVersion) && isEpochMs(envelope.savedAt) && 'snapshot' in envelope
}

/** Only the session fields of a stored object (drops anything a newer writer may have added). */
export function pickSessionData(data: SessionData): SessionData {
  const picked: Record<string, unknown> = {}
  for (const key of fields) picked[key] = data[key]
  return picked as unknown as SessionData
}

/** Checks `options` of save/clear; returns the expected version, or undefined for an unconditional write. */
export function expectedVersionOf(options: WriteOptions | undefined): number | undefined {
  if (options === undefined) return undefined
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const expected = options.expectedVersion
  if (expected === undefined) return undefined
  if (!Number.isSafeInteger(expected) || expected < 0) throw new TypeError('options.expectedVersion must be an integer ≥ 0')
  return expected
}

/**
 * Throws the store_conflict error when a compare-and-set does not match.
 * `current` is the store's version, `present` whether a record exists now.
 */
export function checkExpectedVersion(expected: number | undefined, current: number, present: boolean): void {
  if (expected === undefined) return
  if (expected === 0 ? !present : expected === current) return
  throw new CountersignError(
    ErrorCodes.STORE_CONFLICT,
    expected === 0
      ? `the session store already holds a record (version ${current}); expected none`
      : `the session record changed: expected version ${expected}, found version ${current}${present ? '' : ' (cleared)'}`,
  )
}

export function closedError(): CountersignError {
  return new CountersignError(ErrorCodes.DISPOSED, 'the session store is closed')
}

function isEpochMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
