/**
 * Reading the auth actor's snapshots: the public state they stand for, whether
 * one is idle, and the session record the store gets for one.
 */
import type { Actor, SnapshotFrom } from 'xstate'
import { AUTH_SNAPSHOT_SCHEMA_VERSION, type TokenSet } from '../../machines/auth.js'
import type { SessionInput, SessionRecord } from '../../stores/contract.js'
import type { runtimeMachine } from './effects.js'
import { approvalInfoOf } from './flow.js'
import { sessionOf, type AuthState, type Session } from './session.js'

export type AuthActor = Actor<typeof runtimeMachine>
export type AuthSnapshot = SnapshotFrom<typeof runtimeMachine>

export function stateOf(snapshot: AuthSnapshot): AuthState {
  if (snapshot.status !== 'active') return 'signedOut'
  const value = snapshot.value
  if (typeof value === 'string') return value
  if ('savingTokens' in value) return 'authenticating'
  if ('signedIn' in value) return snapshot.matches({ signedIn: 'active' }) ? 'authenticated' : 'refreshing'
  return Object.keys(value)[0] as AuthState
}

/** The session view of a snapshot, as the runtime's fields hold it once the snapshot is applied: tokens only where they are published. */
export function sessionOfSnapshot(snapshot: AuthSnapshot): Session {
  const context = snapshot.context
  const tokens = snapshot.hasTag('published') ? context.tokens : null
  return sessionOf({
    state: stateOf(snapshot),
    agentId: context.agentId ?? tokens?.agentId ?? null,
    tokens,
    skewMs: context.settings.refreshSkewMs,
    approval: context.approval === null ? null : approvalInfoOf(context.approval),
    failure: context.failure,
  })
}

/** Waits only for time or events, so it may sleep as a stored snapshot. */
export function isIdle(snapshot: AuthSnapshot): boolean {
  return snapshot.matches('signedOut') || snapshot.matches({ signedIn: { active: 'scheduled' } }) || snapshot.matches({ signedIn: { active: 'unscheduled' } })
}

/** The same token set, whichever object holds it (a woken actor restores an equal set as a new object). */
export function sameTokens(a: TokenSet | null, b: TokenSet | null): boolean {
  return a === b || (a !== null && b !== null && a.accessToken === b.accessToken && a.refreshToken === b.refreshToken)
}

/**
 * The record for a snapshot. A set still being saved is the newest the
 * server gave, so it is what the record holds: it is what a crash must find.
 */
export function recordOf(snapshot: AuthSnapshot, persisted: unknown, issuer: string, savedAt: number): SessionInput {
  const context = snapshot.context
  const tokens = context.unsavedTokens ?? context.tokens
  return {
    agentId: context.agentId ?? tokens?.agentId ?? null,
    accessToken: tokens?.accessToken ?? null,
    refreshToken: tokens?.refreshToken ?? null,
    accessExpiresAt: tokens?.accessExpiresAt ?? null,
    refreshExpiresAt: tokens?.refreshExpiresAt ?? null,
    scope: tokens?.scope ?? null,
    issuer,
    machine: { schemaVersion: AUTH_SNAPSHOT_SCHEMA_VERSION, savedAt, snapshot: persisted },
  }
}

/**
 * After a conflict on a shared store: true when this manager's write would
 * put older tokens over newer ones someone else saved. A write that carries
 * new tokens (from the server, or given by the caller) is never older.
 */
export function isStaleOver(current: SessionRecord | null, snapshot: AuthSnapshot, record: SessionInput): boolean {
  if (current === null || current.accessToken === null || snapshot.context.unsavedTokens !== null) return false
  return record.accessToken !== current.accessToken && (current.accessExpiresAt ?? 0) > (record.accessExpiresAt ?? 0)
}
