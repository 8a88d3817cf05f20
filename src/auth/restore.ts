/**
 * Reading a stored session back (architecture rule 3). A machine envelope of
 * the version this runtime writes, whose snapshot has the shape the machine
 * needs, is restored as it was. Anything else is not silently used: the
 * runtime falls back to the tokens the record holds and says why, once.
 */
import { AUTH_SNAPSHOT_SCHEMA_VERSION, type TokenSet } from '../../machines/auth.js'
import { DEFAULT_AUTH_SETTINGS, refreshAtOf } from '../../machines/auth.policy.js'
import type { SessionRecord } from '../../stores/contract.js'
import { tokenSetOfRecord } from './tokens.js'

export type RestorePlan =
  | { kind: 'snapshot'; snapshot: unknown }
  /** Start from these tokens (a seed TokenStore, or an envelope that could not be used: then `problem` says why). */
  | { kind: 'tokens'; tokens: TokenSet; problem: string | null }
  | { kind: 'empty'; problem: string | null }

export function planRestore(record: SessionRecord | null, now: number): RestorePlan {
  if (record === null) return { kind: 'empty', problem: null }
  const envelope = record.machine
  let problem: string | null = null
  if (envelope !== null) {
    if (envelope.schemaVersion !== AUTH_SNAPSHOT_SCHEMA_VERSION) {
      problem = `the stored session was saved with snapshot schema version ${envelope.schemaVersion}; this runtime reads version ${AUTH_SNAPSHOT_SCHEMA_VERSION}`
    } else {
      problem = snapshotProblem(envelope.snapshot)
      if (problem === null) return { kind: 'snapshot', snapshot: envelope.snapshot }
    }
  }
  const tokens = tokenSetOfRecord(record, now)
  if (tokens !== null) return { kind: 'tokens', tokens, problem: problem === null ? null : `${problem}; continuing with the tokens the record holds` }
  return { kind: 'empty', problem: problem === null ? null : `${problem}; the record holds no tokens to continue with` }
}

const settingNames = Object.keys(DEFAULT_AUTH_SETTINGS)

/** What is wrong with a snapshot for the auth machine, or null when it can be restored. */
export function snapshotProblem(snapshot: unknown): string | null {
  if (!isObject(snapshot)) return 'the stored machine snapshot is not an object'
  if (snapshot.status !== 'active') return `the stored machine snapshot has status ${JSON.stringify(snapshot.status)}, not "active"`
  if (typeof snapshot.value !== 'string' && !isObject(snapshot.value)) return 'the stored machine snapshot has no state value'
  const context = snapshot.context
  if (!isObject(context)) return 'the stored machine snapshot has no context'
  const settings = context.settings
  if (!isObject(settings) || !settingNames.every((name) => typeof settings[name] === 'number')) return 'the stored machine snapshot has no valid settings'
  for (const field of ['tokens', 'unsavedTokens'] as const) {
    const tokens = context[field]
    if (tokens !== null && !isTokenSet(tokens)) return `the stored machine snapshot has a malformed ${field}`
  }
  if (!isObject(snapshot.children)) return 'the stored machine snapshot has no children'
  return null
}

function isTokenSet(value: unknown): value is TokenSet {
  if (!isObject(value)) return false
  const nullableNumber = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v))
  const nullableString = (v: unknown) => v === null || typeof v === 'string'
  return (
    typeof value.accessToken === 'string' &&
    typeof value.obtainedAt === 'number' &&
    nullableNumber(value.accessExpiresAt) &&
    nullableNumber(value.refreshExpiresAt) &&
    nullableString(value.refreshToken) &&
    nullableString(value.scope) &&
    nullableString(value.agentId)
  )
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * When an idle snapshot must wake: the earliest time its running `sleepUntil`
 * effects wait for. Null when it waits for nothing but events. Undefined when
 * some other effect is running: such a snapshot is not idle.
 */
export function wakeTimeOf(persisted: unknown): number | null | undefined {
  if (!isObject(persisted) || !isObject(persisted.children)) return undefined
  let wakeAt: number | null = null
  for (const child of Object.values(persisted.children)) {
    if (!isObject(child) || !isObject(child.snapshot)) return undefined
    if (child.snapshot.status !== 'active') continue
    const input = child.snapshot.input
    if (child.src !== 'sleepUntil' || !isObject(input) || typeof input.until !== 'number') return undefined
    wakeAt = wakeAt === null ? input.until : Math.min(wakeAt, input.until)
  }
  return wakeAt
}

/**
 * A stored snapshot (one `snapshotProblem` accepts) with the settings of this
 * process in place of those it was saved with: the policy's defaults and the
 * manager's `refreshSkewMs`. A session saved by a process with another skew
 * refreshes by this one's from now on, its scheduled refresh included: the
 * refresh time in context and the wake time of the sleep that waits for it
 * are computed again. The stored object is not changed.
 */
export function withCurrentSettings(snapshot: unknown, refreshSkewMs: number): unknown {
  const stored = snapshot as Record<string, unknown> & { context: Record<string, unknown> & { settings: Record<string, number> } }
  const settings = { ...DEFAULT_AUTH_SETTINGS, refreshSkewMs }
  const context: Record<string, unknown> = { ...stored.context, settings }
  const tokens = stored.context.tokens as TokenSet | null
  const before = stored.context.refreshAt
  let children = stored.children
  if (tokens !== null && typeof before === 'number') {
    const after = refreshAtOf(tokens, refreshSkewMs)
    context.refreshAt = after
    if (after !== null && after !== before) children = rescheduled(stored.children as Record<string, unknown>, before, after)
  }
  return { ...stored, context, children }
}

/** The children with a sleep until `from` made to sleep until `to`. */
function rescheduled(children: Record<string, unknown>, from: number, to: number): Record<string, unknown> {
  const result: Record<string, unknown> = {}
  for (const [id, child] of Object.entries(children)) {
    const input = isObject(child) && child.src === 'sleepUntil' && isObject(child.snapshot) ? child.snapshot.input : undefined
    result[id] = isObject(input) && input.until === from ? { ...(child as object), snapshot: { ...((child as Record<string, unknown>).snapshot as object), input: { ...input, until: to } } } : child
  }
  return result
}
