/**
 * The auth lifecycle statechart: sign-in through human approval, keeping the
 * session alive, and ending it. Pure: every effect is a named actor, every
 * decision a named guard; `src/` provides the real effects with `.provide()`.
 *
 * Time is data (architecture rule 1): each wait is an absolute epoch-ms value
 * in context, consumed by the `sleepUntil` actor, so a restored actor sleeps
 * only for what is left. There are no `after` timers; they are not persisted.
 * Effects report the clock's time (`at`) with their results, and jitter comes
 * from a seeded sequence in context, so no clock or randomness is read here.
 */
import { assign, emit, setup } from 'xstate'
import {
  backoffPatch,
  cleared,
  doneAt,
  endedFailure,
  errorOf,
  failureOfPollAnswer,
  notProvided,
  outputOf,
  requestOf,
  tokensToRevoke,
} from './auth.context.js'
import { authGuards } from './auth.guards.js'
import { DEFAULT_AUTH_SETTINGS, isTransient, longPollWaitSeconds, mergeRotated, pollIntervalMs, refreshAtOf } from './auth.policy.js'
import type {
  AuthContext,
  AuthEmitted,
  AuthEvent,
  AuthFailure,
  AuthInput,
  AuthTag,
  EffectName,
  PersistInput,
  PersistOutput,
  PollApprovalInput,
  PollApprovalOutput,
  RefreshTokensInput,
  RefreshTokensOutput,
  RevokeTokensInput,
  RevokeTokensOutput,
  SleepUntilInput,
  SleepUntilOutput,
  StartApprovalInput,
  StartApprovalOutput,
  TokenSet,
} from './auth.types.js'

export * from './auth.policy.js'
export type * from './auth.types.js'

/** Version of the persisted envelope `{ schemaVersion, savedAt, snapshot }` this machine reads and writes. */
export const AUTH_SNAPSHOT_SCHEMA_VERSION = 1

export const authMachine = setup({
  types: {
    context: {} as AuthContext,
    events: {} as AuthEvent,
    input: {} as AuthInput | undefined,
    emitted: {} as AuthEmitted,
    tags: {} as AuthTag,
  },
  actors: {
    persist: notProvided<PersistOutput, PersistInput>('persist'),
    startApproval: notProvided<StartApprovalOutput, StartApprovalInput>('startApproval'),
    pollApproval: notProvided<PollApprovalOutput, PollApprovalInput>('pollApproval'),
    refreshTokens: notProvided<RefreshTokensOutput, RefreshTokensInput>('refreshTokens'),
    revokeTokens: notProvided<RevokeTokensOutput, RevokeTokensInput>('revokeTokens'),
    sleepUntil: notProvided<SleepUntilOutput, SleepUntilInput>('sleepUntil'),
  },
  guards: authGuards,
  actions: {
    beginApprovalRequest: assign(({ context, event }) => ({
      ...cleared,
      failure: null,
      request: requestOf(event),
      idempotencyKey: 'idempotencyKey' in event ? event.idempotencyKey : null,
      observedAt: context.observedAt,
    })),
    observe: assign({ observedAt: ({ context, event }) => Math.max(doneAt(event), context.observedAt ?? 0) }),
    scheduleRetry: assign(({ context, event }) => backoffPatch(context, errorOf(event, context))),
    emitFaultRetry: emit(({ context }, params: { effect: EffectName }) => ({
      type: 'faultRetry' as const,
      effect: params.effect,
      failure: context.fault!,
      retryAt: context.retryAt!,
    })),
    acceptApproval: assign(({ context, event }) => {
      const { approval, longPoll, at } = outputOf<StartApprovalOutput>(event)
      return {
        approval,
        approvalExpiresAt: approval.expiresAt,
        agentId: approval.agentId,
        longPoll,
        intervalPenaltyMs: 0,
        pollAttempts: 0,
        nextPollAt: null,
        faults: 0,
        retryAt: null,
        fault: null,
        observedAt: Math.max(at, context.observedAt ?? 0),
      }
    }),
    emitApprovalStarted: emit(({ context }) => {
      const approval = context.approval!
      return {
        type: 'approvalStarted' as const,
        at: context.observedAt!,
        userCode: approval.userCode,
        verificationUri: approval.verificationUri,
        verificationUriComplete: approval.verificationUriComplete,
        agentId: approval.agentId,
        expiresAt: approval.expiresAt,
      }
    }),
    acceptWait: assign(({ context, event }) => {
      if (event.type !== 'WAIT') return {}
      return {
        callerIntervalMs: event.intervalMs ?? context.callerIntervalMs,
        callerDeadline: event.deadline ?? context.callerDeadline,
        observedAt: Math.max(event.at, context.observedAt ?? 0),
      }
    }),
    /** The first poll of a wait goes out at once: nothing has been polled that the interval must space. */
    pollNow: assign({ nextPollAt: ({ event }) => (event.type === 'WAIT' ? event.at : null) }),
    countPollAttempt: assign({ pollAttempts: ({ context }) => context.pollAttempts + 1 }),
    emitPollAttempt: emit(({ context }) => ({ type: 'pollAttempt' as const, attempt: context.pollAttempts, at: context.observedAt })),
    /** After an answer: long-polls count the interval from when the request went out, plain polls from the answer. */
    schedulePoll: assign(({ context, event }) => {
      const { at, sentAt } = outputOf<PollApprovalOutput>(event)
      const interval = pollIntervalMs(context)
      const nextPollAt = context.longPoll ? Math.max(at, sentAt + interval) : at + interval
      return { nextPollAt, faults: 0, retryAt: null, observedAt: Math.max(at, context.observedAt ?? 0) }
    }),
    slowDown: assign({ intervalPenaltyMs: ({ context }) => context.intervalPenaltyMs + context.settings.slowDownStepMs }),
    /** After a fault: back off, but never poll sooner than the interval. */
    schedulePollAfterFault: assign(({ context, event }) => {
      const patch = backoffPatch(context, errorOf(event, context), pollIntervalMs(context))
      return { ...patch, nextPollAt: patch.retryAt }
    }),
    endApproval: assign((_, params: { failure: AuthFailure }) => ({ ...cleared, failure: params.failure })),
    endFromPollAnswer: assign(({ event }) => ({ ...cleared, failure: failureOfPollAnswer(event) })),
    endWithTimeout: assign(({ event }) => ({
      ...cleared,
      failure: endedFailure('approval_timeout', 'gave up waiting for approval: the timeout passed', doneAt(event)),
    })),
    endWithExpiry: assign(({ event }) => ({
      ...cleared,
      failure: endedFailure('approval_expired', 'the approval request expired before it was approved', doneAt(event)),
    })),
    emitApprovalFailed: emit(({ context }) => ({ type: 'approvalFailed' as const, failure: context.failure! })),
    acceptApprovedTokens: assign(({ context, event }) => {
      const { result, at } = outputOf<PollApprovalOutput>(event)
      const tokens = (result as { tokens: TokenSet }).tokens
      return {
        unsavedTokens: { ...tokens, agentId: tokens.agentId ?? context.agentId },
        faults: 0,
        retryAt: null,
        fault: null,
        observedAt: Math.max(at, context.observedAt ?? 0),
      }
    }),
    acceptGivenTokens: assign(({ context, event }) => {
      if (event.type !== 'SET_TOKENS') return {}
      return { ...cleared, failure: null, unsavedTokens: event.tokens, agentId: event.tokens.agentId, observedAt: context.observedAt }
    }),
    acceptRefreshedTokens: assign(({ context, event }) => {
      const { tokens, at } = outputOf<RefreshTokensOutput>(event)
      return { unsavedTokens: mergeRotated(context.tokens, tokens), faults: 0, retryAt: null, fault: null, observedAt: Math.max(at, context.observedAt ?? 0) }
    }),
    /** The store has the new set: from here it may be published. */
    commitTokens: assign(({ context, event }) => {
      const tokens = context.unsavedTokens!
      return {
        ...cleared,
        failure: null,
        tokens,
        agentId: tokens.agentId ?? context.agentId,
        refreshAt: refreshAtOf(tokens, context.settings.refreshSkewMs),
        observedAt: Math.max(doneAt(event), context.observedAt ?? 0),
      }
    }),
    emitAuthenticated: emit(({ context }) => ({ type: 'authenticated' as const, at: context.observedAt!, agentId: context.agentId })),
    emitRefreshed: emit(({ context }) => ({ type: 'refreshed' as const, at: context.observedAt! })),
    emitRefreshRetry: emit(({ context }) => ({ type: 'refreshFailed' as const, failure: context.fault!, retryAt: context.retryAt })),
    endWithoutRefreshToken: assign(({ event }) => ({
      ...cleared,
      failure: endedFailure('token_refresh_failed', 'the access token expired and there is no refresh token; a new login is needed', doneAt(event)),
    })),
    /** A refresh the server refused (invalid_grant above all), or one that can no longer succeed: the session is over, once. */
    endFromRefreshError: assign(({ context, event }) => {
      const error = errorOf(event, context)
      const failure = isTransient(error)
        ? endedFailure('token_refresh_failed', `the refresh token expired while the server could not be reached (${error.message}); a new login is needed`, error.at)
        : { ...error, code: 'token_refresh_failed' as const }
      return { ...cleared, failure }
    }),
    emitSessionEnded: emit(({ context }) => ({ type: 'sessionEnded' as const, failure: context.failure! })),
    emitRefreshFailedForGood: emit(({ context }) => ({ type: 'refreshFailed' as const, failure: context.failure!, retryAt: null })),
    emitRefreshUnavailable: emit(({ context }) => ({
      type: 'refreshFailed' as const,
      failure: endedFailure('token_refresh_failed', 'there is no refresh token to refresh with', context.observedAt),
      retryAt: null,
    })),
    beginRevoke: assign({
      revokeDeadline: ({ context, event }) => (event.type === 'REVOKE' ? event.at : (context.observedAt ?? 0)) + context.settings.revokeTimeoutMs,
      observedAt: ({ context, event }) => (event.type === 'REVOKE' ? Math.max(event.at, context.observedAt ?? 0) : context.observedAt),
    }),
    signOut: assign(() => ({ ...cleared, failure: null })),
    emitRevoked: emit(({ context }, params: { confirmed: boolean }) => ({ type: 'revoked' as const, at: context.observedAt, confirmed: params.confirmed })),
  },
}).createMachine({
  id: 'auth',
  context: ({ input }) => ({
    settings: { ...DEFAULT_AUTH_SETTINGS, ...input?.settings },
    jitterSeed: (input?.jitterSeed ?? 0x2f6b_1d3) | 0,
    observedAt: null,
    ...cleared,
    failure: null,
  }),
  initial: 'signedOut',
  on: {
    REGISTER: { target: '.starting', reenter: true, actions: 'beginApprovalRequest' },
    LOGIN: { target: '.starting', reenter: true, actions: 'beginApprovalRequest' },
    SET_TOKENS: { target: '.savingTokens', reenter: true, actions: 'acceptGivenTokens' },
  },
  states: {
    signedOut: {},

    starting: {
      initial: 'savingRequest',
      on: {
        ABORT: {
          target: 'signedOut',
          actions: [{ type: 'endApproval', params: ({ context, event }) => ({ failure: endedFailure('aborted', 'the approval request was aborted', event.at ?? context.observedAt) }) }, 'emitApprovalFailed'],
        },
        REVOKE: { target: 'signedOut', actions: ['signOut', { type: 'emitRevoked', params: { confirmed: true } }] },
      },
      states: {
        /** The Idempotency-Key is saved before the request that carries it is sent (rule 2). */
        savingRequest: {
          invoke: {
            src: 'persist',
            input: (): PersistInput => ({ reason: 'approvalRequest', tokens: null }),
            onDone: { target: 'requesting', actions: 'observe' },
            onError: { target: 'savingBackoff', actions: ['scheduleRetry', { type: 'emitFaultRetry', params: { effect: 'persist' } }] },
          },
        },
        savingBackoff: {
          invoke: { src: 'sleepUntil', input: ({ context }) => ({ until: context.retryAt! }), onDone: { target: 'savingRequest', actions: 'observe' } },
        },
        requesting: {
          invoke: {
            src: 'startApproval',
            input: ({ context }) => ({ request: context.request!, idempotencyKey: context.idempotencyKey! }),
            onDone: { target: '#auth.pendingApproval', actions: ['acceptApproval', 'emitApprovalStarted'] },
            onError: [
              { guard: 'canRetryStart', target: 'requestBackoff', actions: ['scheduleRetry', { type: 'emitFaultRetry', params: { effect: 'startApproval' } }] },
              { target: '#auth.signedOut', actions: [{ type: 'endApproval', params: ({ context, event }) => ({ failure: errorOf(event, context) }) }, 'emitApprovalFailed'] },
            ],
          },
        },
        requestBackoff: {
          invoke: { src: 'sleepUntil', input: ({ context }) => ({ until: context.retryAt! }), onDone: { target: 'requesting', actions: 'observe' } },
        },
      },
    },

    pendingApproval: {
      initial: 'idle',
      invoke: {
        id: 'approvalExpiry',
        src: 'sleepUntil',
        input: ({ context }) => ({ until: context.approvalExpiresAt! }),
        onDone: {
          target: 'signedOut',
          actions: [{ type: 'endApproval', params: ({ event }) => ({ failure: endedFailure('approval_expired', 'the approval request expired before it was approved', doneAt(event)) }) }, 'emitApprovalFailed'],
        },
      },
      on: {
        WAIT: { actions: 'acceptWait' },
        ABORT: {
          target: 'signedOut',
          actions: [{ type: 'endApproval', params: ({ context, event }) => ({ failure: endedFailure('aborted', 'the wait for approval was aborted', event.at ?? context.observedAt) }) }, 'emitApprovalFailed'],
        },
        REVOKE: { target: 'signedOut', actions: ['signOut', { type: 'emitRevoked', params: { confirmed: true } }] },
      },
      states: {
        /** The approval exists; nobody waits for it yet (the handle was returned, waitForApproval not called). */
        idle: {
          on: { WAIT: { target: 'waiting', actions: ['acceptWait', 'pollNow'] } },
        },
        waiting: {
          on: { WAIT: { target: 'waiting', reenter: true, actions: 'acceptWait' } },
          invoke: {
            src: 'sleepUntil',
            input: ({ context }) => ({ until: Math.min(context.nextPollAt ?? 0, context.callerDeadline ?? Number.POSITIVE_INFINITY) }),
            onDone: [
              { guard: 'isPastCallerDeadline', target: '#auth.signedOut', actions: ['observe', 'endWithTimeout', 'emitApprovalFailed'] },
              { guard: 'isPastApprovalExpiry', target: '#auth.signedOut', actions: ['observe', 'endWithExpiry', 'emitApprovalFailed'] },
              { target: 'polling', actions: 'observe' },
            ],
          },
        },
        polling: {
          entry: ['countPollAttempt', 'emitPollAttempt'],
          invoke: [
            {
              id: 'poll',
              src: 'pollApproval',
              input: ({ context }) => ({ deviceCode: context.approval!.deviceCode, waitSeconds: longPollWaitSeconds(context) }),
              onDone: [
                { guard: 'isApproved', target: '#auth.savingTokens', actions: 'acceptApprovedTokens' },
                { guard: 'isPending', target: 'waiting', actions: 'schedulePoll' },
                { guard: 'isSlowDown', target: 'waiting', actions: ['slowDown', 'schedulePoll'] },
                { guard: 'isDenied', target: '#auth.signedOut', actions: ['endFromPollAnswer', 'emitApprovalFailed'] },
                { guard: 'isExpired', target: '#auth.signedOut', actions: ['endFromPollAnswer', 'emitApprovalFailed'] },
                { target: '#auth.signedOut', actions: ['endFromPollAnswer', 'emitApprovalFailed'] },
              ],
              onError: [
                { guard: 'isTransientFault', target: 'waiting', actions: ['schedulePollAfterFault', { type: 'emitFaultRetry', params: { effect: 'pollApproval' } }] },
                { target: '#auth.signedOut', actions: [{ type: 'endApproval', params: ({ context, event }) => ({ failure: errorOf(event, context) }) }, 'emitApprovalFailed'] },
              ],
            },
            {
              // A long-poll or a hung request must not outlast the caller's deadline.
              id: 'callerDeadline',
              src: 'sleepUntil',
              input: ({ context }) => ({ until: context.callerDeadline ?? context.approvalExpiresAt! }),
              onDone: [
                { guard: 'isPastCallerDeadline', target: '#auth.signedOut', actions: ['observe', 'endWithTimeout', 'emitApprovalFailed'] },
                { target: '#auth.signedOut', actions: ['observe', 'endWithExpiry', 'emitApprovalFailed'] },
              ],
            },
          ],
        },
      },
    },

    /** New tokens from an approval or SET_TOKENS: saved before anything is published. */
    savingTokens: {
      initial: 'saving',
      on: { REVOKE: { target: 'revoking', actions: 'beginRevoke' } },
      states: {
        saving: {
          invoke: {
            src: 'persist',
            input: ({ context }) => ({ reason: 'tokens' as const, tokens: context.unsavedTokens }),
            onDone: { target: '#auth.signedIn', actions: ['commitTokens', 'emitAuthenticated'] },
            onError: { target: 'backoff', actions: ['scheduleRetry', { type: 'emitFaultRetry', params: { effect: 'persist' } }] },
          },
        },
        backoff: {
          invoke: { src: 'sleepUntil', input: ({ context }) => ({ until: context.retryAt! }), onDone: { target: 'saving', actions: 'observe' } },
        },
      },
    },

    signedIn: {
      tags: ['published'],
      initial: 'active',
      on: { REVOKE: { target: 'revoking', actions: 'beginRevoke' } },
      states: {
        active: {
          initial: 'scheduling',
          on: {
            REFRESH: [{ guard: 'hasRefreshToken', target: 'refreshing' }, { actions: 'emitRefreshUnavailable' }],
          },
          states: {
            scheduling: { always: [{ guard: 'hasScheduledWake', target: 'scheduled' }, { target: 'unscheduled' }] },
            /** Sleeps until refreshAt, or, with no refresh token, until the access token dies. */
            scheduled: {
              invoke: {
                src: 'sleepUntil',
                input: ({ context }) => ({ until: context.tokens!.refreshToken === null ? context.tokens!.accessExpiresAt! : context.refreshAt! }),
                onDone: [
                  { guard: 'hasRefreshToken', target: '#auth.signedIn.refreshing', actions: 'observe' },
                  { target: '#auth.signedOut', actions: ['observe', 'endWithoutRefreshToken', 'emitSessionEnded'] },
                ],
              },
            },
            /** The server named no expiry: refresh only when asked. */
            unscheduled: {},
          },
        },
        /** One refresh at a time: REFRESH has no handler here, so it is ignored (single flight). */
        refreshing: {
          invoke: {
            src: 'refreshTokens',
            input: ({ context }) => ({ refreshToken: context.tokens!.refreshToken! }),
            onDone: { target: 'saving', actions: 'acceptRefreshedTokens' },
            onError: [
              {
                guard: 'isTransientWhileRefreshTokenLives',
                target: 'backoff',
                actions: ['scheduleRetry', { type: 'emitFaultRetry', params: { effect: 'refreshTokens' } }, 'emitRefreshRetry'],
              },
              { target: '#auth.signedOut', actions: ['endFromRefreshError', 'emitRefreshFailedForGood', 'emitSessionEnded'] },
            ],
          },
        },
        /** Waits out the backoff; a caller that needs a token cuts it short once the last fault is old enough. */
        backoff: {
          on: { REFRESH: { guard: 'lastFaultIsOld', target: 'refreshing' } },
          invoke: { src: 'sleepUntil', input: ({ context }) => ({ until: context.retryAt! }), onDone: { target: 'refreshing', actions: 'observe' } },
        },
        /** Rotated tokens are saved before use; meanwhile the old, saved set stays published. */
        saving: {
          invoke: {
            src: 'persist',
            input: ({ context }) => ({ reason: 'tokens' as const, tokens: context.unsavedTokens }),
            onDone: { target: 'active', actions: ['commitTokens', 'emitRefreshed'] },
            onError: { target: 'savingBackoff', actions: ['scheduleRetry', { type: 'emitFaultRetry', params: { effect: 'persist' } }] },
          },
        },
        savingBackoff: {
          invoke: { src: 'sleepUntil', input: ({ context }) => ({ until: context.retryAt! }), onDone: { target: 'saving', actions: 'observe' } },
        },
      },
    },

    /** Best effort and bounded: whatever the server says, the session ends here. */
    revoking: {
      invoke: [
        {
          src: 'revokeTokens',
          input: ({ context }) => ({ tokens: tokensToRevoke(context) }),
          onDone: { target: 'signedOut', actions: ['observe', 'signOut', { type: 'emitRevoked', params: { confirmed: true } }] },
          onError: { target: 'signedOut', actions: ['signOut', { type: 'emitRevoked', params: { confirmed: false } }] },
        },
        {
          src: 'sleepUntil',
          input: ({ context }) => ({ until: context.revokeDeadline! }),
          onDone: { target: 'signedOut', actions: ['observe', 'signOut', { type: 'emitRevoked', params: { confirmed: false } }] },
        },
      ],
    },
  },
})
