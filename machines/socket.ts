/**
 * The LiveSocket statechart: one WebSocket connection kept open and
 * authenticated through token rotation, refusals and network faults.
 * Pure: every effect is a named actor or action; `src/live/socket.ts`
 * provides the real ones with `.provide()`.
 *
 * Time is data, as in machines/auth: waits are absolute epoch-ms values in
 * context consumed by the `sleepUntil` actor; effects and events report the
 * clock's time (`at`); jitter comes from a seeded sequence in context.
 *
 * Secrets: tokens never enter the context. A token flows from `getToken`'s
 * output straight into the input of `connect` or `reauthenticate`, so it
 * does live in those child actors' snapshots: never log or persist a
 * LiveSocket snapshot (there is no reason to: a restarted process connects
 * afresh).
 *
 * How src/live/socket.ts provides this machine:
 * - getToken({ reason }): calls the token source with `reason` ('unauthorized'
 *   forces a refresh; 'expired' after a refusal due to the token's expiry)
 *   and resolves `{ token, at: clock.now() }`; it rejects
 *   with the source's CountersignError (its `code` decides: see tokenFailureOf).
 * - connect({ token, connectionId }): `new WebSocket(url, { headers:
 *   { Authorization: 'Bearer ' + token } })` with 'error', 'unexpected-response'
 *   (read the status, then destroy the request: ws stays CONNECTING otherwise),
 *   'open' and 'close' listeners; resolves `{ at }` on 'open', rejects
 *   `{ message, status?, closeCode?, expired?, at }` (`expired`: a 401 due to
 *   the token's expiry); on `signal` abort, terminates the
 *   socket. Once open, it keeps the socket as "current" under its
 *   connectionId and forwards 'close' as SOCKET_CLOSED (`expired` for a
 *   4401 due to the token's expiry) and 'pong' as PONG, both with that
 *   connectionId, so events of an old socket are ignored.
 * - reauthenticate({ token, connectionId }): sends `encodeAuth(token)` on the
 *   current socket, resolves `{ exp, at }` on the next `auth_ok`, rejects
 *   `{ closeCode, at }` when the socket closes first.
 * - sleepUntil({ until }): src/clock.ts sleepUntil with the signal.
 * - actions (or listen with actor.on, as they are emitted by default):
 *   flushQueue → write the queued sends in order while the 'writable' tag
 *   holds; sendPing → ws.ping(); terminate → ws.terminate();
 *   closeConnection → ws.close(1000); rejectQueue → reject waiting sends with
 *   SOCKET_CLOSED or REVOKED per outcome.reason; revoked → events$.
 * - state$: liveSocketStatus(snapshot) of each snapshot, distinct.
 */
import { assign, emit, setup, type SnapshotFrom } from 'xstate'
import {
  errorOf,
  failedOutcome,
  failurePatch,
  initialContext,
  later,
  notProvided,
  outputOf,
  retryPatch,
  timeoutFailure,
  type TimeoutKind,
} from './socket.context.js'
import { closeFailureOf, connectionFailureOf, tokenFailureOf } from './socket.policy.js'
import type {
  ConnectInput,
  ConnectOutput,
  GetTokenInput,
  GetTokenOutput,
  LiveSocketContext,
  LiveSocketEmitted,
  LiveSocketEvent,
  LiveSocketInput,
  LiveSocketStatus,
  LiveSocketTag,
  ReauthenticateInput,
  ReauthenticateOutput,
  SleepUntilInput,
  SleepUntilOutput,
  SocketOutcome,
} from './socket.types.js'

export * from './socket.policy.js'
export type * from './socket.types.js'

const tokenOf = (event: unknown) => outputOf<GetTokenOutput>(event).token
const atOf = (event: unknown) => outputOf<{ at: number }>(event).at

export const liveSocketMachine = setup({
  types: {
    context: {} as LiveSocketContext,
    events: {} as LiveSocketEvent,
    input: {} as LiveSocketInput | undefined,
    emitted: {} as LiveSocketEmitted,
    tags: {} as LiveSocketTag,
    output: {} as SocketOutcome,
  },
  actors: {
    getToken: notProvided<GetTokenOutput, GetTokenInput>('getToken'),
    connect: notProvided<ConnectOutput, ConnectInput>('connect'),
    reauthenticate: notProvided<ReauthenticateOutput, ReauthenticateInput>('reauthenticate'),
    sleepUntil: notProvided<SleepUntilOutput, SleepUntilInput>('sleepUntil'),
  },
  guards: {
    isCurrentConnection: ({ context, event }) => 'connectionId' in event && event.connectionId === context.connectionId,
    isTokenStale: ({ context }) => context.tokenStale,
    arePongsMissed: ({ context }) => context.awaitingPongs >= context.settings.maxMissedPongs,
    isRevoked: ({ context }) => context.lastFailure?.kind === 'revoked',
    isFinal: ({ context }) => context.lastFailure?.kind === 'refused' || context.lastFailure?.kind === 'unauthenticated',
    /** The first refusal of a token reconnects at once with a refreshed one; a repeat backs off like a drop. */
    isFirstUnauthorized: ({ context }) => context.lastFailure?.kind === 'unauthorized' && context.unauthorizedStreak === 1,
  },
  actions: {
    observe: assign({ observedAt: ({ context, event }) => later(context, 'at' in event ? event.at : atOf(event)) }),
    markTokenStale: assign({ tokenStale: true }),
    takeToken: assign({ tokenStale: false }),
    beginHandshake: assign(({ context, event }) => {
      const at = atOf(event)
      return {
        connectionId: context.connectionId + 1,
        tokenReason: 'initial' as const,
        observedAt: later(context, at),
        connectDeadline: at + context.settings.connectTimeoutMs,
      }
    }),
    markOpened: assign(({ context, event }) => {
      const at = atOf(event)
      return { openedAt: at, observedAt: later(context, at), connectDeadline: null, nextPingAt: at + context.settings.pingIntervalMs, awaitingPongs: 0 }
    }),
    beginReauth: assign(({ context, event }) => {
      const at = atOf(event)
      return { observedAt: later(context, at), reauthDeadline: at + context.settings.reauthTimeoutMs }
    }),
    acceptReauth: assign(({ context, event }) => {
      const { at, exp } = outputOf<ReauthenticateOutput>(event)
      return { observedAt: later(context, at), reauthDeadline: null, unauthorizedStreak: 0, authExpiresAt: exp === null ? null : exp * 1000 }
    }),
    countPing: assign(({ context, event }) => {
      const at = atOf(event)
      return { observedAt: later(context, at), awaitingPongs: context.awaitingPongs + 1, nextPingAt: at + context.settings.pingIntervalMs }
    }),
    acceptPong: assign(({ context, event }) => ({ awaitingPongs: 0, observedAt: later(context, event.type === 'PONG' ? event.at : null) })),
    recordConnectionFailure: assign(({ context, event }) =>
      failurePatch(context, event.type === 'SOCKET_CLOSED' ? closeFailureOf(event.code, event.reason, event.at, event.expired) : connectionFailureOf(errorOf(event), context.observedAt)),
    ),
    recordTokenFailure: assign(({ context, event }) => failurePatch(context, tokenFailureOf(errorOf(event), context.observedAt))),
    recordTimeout: assign(({ context, event }, params: { what: TimeoutKind }) => failurePatch(context, timeoutFailure(context, params.what, atOf(event)))),
    scheduleRetry: assign(({ context }) => retryPatch(context)),
    endWithFailure: assign(({ context }) => ({ outcome: failedOutcome(context), retryAt: null })),
    endByCaller: assign(({ context, event }) => ({
      outcome: { reason: 'closed' as const, at: later(context, event.type === 'CLOSE' ? event.at : null), failure: null },
      retryAt: null,
      ...(event.type === 'CLOSE' && event.at !== undefined ? { observedAt: later(context, event.at) } : {}),
    })),
    // Effects on the connection and the queue. Emitted by default so the runtime may listen with actor.on;
    // src/ may instead provide its own implementations of the same names.
    flushQueue: emit(({ context }) => ({ type: 'flushQueue' as const, connectionId: context.connectionId })),
    sendPing: emit(({ context }) => ({ type: 'sendPing' as const, connectionId: context.connectionId })),
    terminate: emit(({ context }) => ({ type: 'terminate' as const, connectionId: context.connectionId, failure: context.lastFailure! })),
    closeConnection: emit(({ context }) => ({ type: 'closeConnection' as const, connectionId: context.connectionId })),
    rejectQueue: emit(({ context }) => ({ type: 'rejectQueue' as const, outcome: context.outcome! })),
    emitRevoked: emit(({ context }) => ({ type: 'revoked' as const, at: context.outcome!.at, failure: context.lastFailure! })),
  },
}).createMachine({
  id: 'liveSocket',
  context: ({ input }) => initialContext(input),
  initial: 'idle',
  output: ({ context }) => context.outcome!,
  on: {
    // Leaving whatever state the socket is in stops its actors, which aborts their signals.
    CLOSE: { target: '.closed', actions: 'endByCaller' },
  },
  states: {
    idle: {
      on: { CONNECT: { target: 'connecting', actions: 'observe' } },
    },

    connecting: {
      tags: ['connecting'],
      initial: 'gettingToken',
      on: { TOKEN_ROTATED: { actions: 'markTokenStale' } },
      states: {
        gettingToken: {
          // A rotation announced from here on may not be in the token this call returns.
          entry: 'takeToken',
          invoke: {
            src: 'getToken',
            input: ({ context }) => ({ reason: context.tokenReason }),
            onDone: { target: 'handshaking', actions: 'beginHandshake' },
            onError: { target: '#liveSocket.recovering', actions: 'recordTokenFailure' },
          },
        },
        handshaking: {
          invoke: [
            {
              src: 'connect',
              input: ({ context, event }) => ({ token: tokenOf(event), connectionId: context.connectionId }),
              onDone: { target: '#liveSocket.open', actions: 'markOpened' },
              onError: { target: '#liveSocket.recovering', actions: 'recordConnectionFailure' },
            },
            {
              src: 'sleepUntil',
              input: ({ context }) => ({ until: context.connectDeadline! }),
              onDone: { target: '#liveSocket.recovering', actions: { type: 'recordTimeout', params: { what: 'handshake' } } },
            },
          ],
        },
      },
    },

    open: {
      type: 'parallel',
      tags: ['open'],
      on: {
        PONG: { guard: 'isCurrentConnection', actions: 'acceptPong' },
        SOCKET_CLOSED: { guard: 'isCurrentConnection', target: 'recovering', actions: 'recordConnectionFailure' },
        CLOSE: { target: 'closed', actions: ['closeConnection', 'endByCaller'] },
      },
      states: {
        session: {
          initial: 'checking',
          states: {
            checking: {
              always: [{ guard: 'isTokenStale', target: 'reauthenticating' }, { target: 'ready' }],
            },
            /** The only state in which sends go straight out; everywhere else they wait in the queue. */
            ready: {
              tags: ['writable'],
              entry: 'flushQueue',
              on: { TOKEN_ROTATED: 'reauthenticating' },
            },
            /** One in-band `auth` at a time; a rotation meanwhile is taken up once this one is answered. */
            reauthenticating: {
              tags: ['reauthenticating'],
              initial: 'gettingToken',
              on: { TOKEN_ROTATED: { actions: 'markTokenStale' } },
              states: {
                gettingToken: {
                  entry: 'takeToken',
                  invoke: {
                    src: 'getToken',
                    input: () => ({ reason: 'initial' as const }),
                    onDone: { target: 'authenticating', actions: 'beginReauth' },
                    // The connection's token is still good until the server says otherwise (4401).
                    onError: { target: '#liveSocket.open.session.checking' },
                  },
                },
                authenticating: {
                  invoke: [
                    {
                      src: 'reauthenticate',
                      input: ({ context, event }) => ({ token: tokenOf(event), connectionId: context.connectionId }),
                      onDone: { target: '#liveSocket.open.session.checking', actions: 'acceptReauth' },
                      onError: { target: '#liveSocket.recovering', actions: ['recordConnectionFailure', 'terminate'] },
                    },
                    {
                      src: 'sleepUntil',
                      input: ({ context }) => ({ until: context.reauthDeadline! }),
                      onDone: { target: '#liveSocket.recovering', actions: [{ type: 'recordTimeout', params: { what: 'reauth' } }, 'terminate'] },
                    },
                  ],
                },
              },
            },
          },
        },
        heartbeat: {
          initial: 'waiting',
          states: {
            waiting: {
              invoke: {
                src: 'sleepUntil',
                input: ({ context }) => ({ until: context.nextPingAt! }),
                onDone: [
                  { guard: 'arePongsMissed', target: '#liveSocket.recovering', actions: [{ type: 'recordTimeout', params: { what: 'heartbeat' } }, 'terminate'] },
                  { target: 'waiting', reenter: true, actions: ['countPing', 'sendPing'] },
                ],
              },
            },
          },
        },
      },
    },

    /** Decides what a failure leads to; never rests here. */
    recovering: {
      always: [
        { guard: 'isRevoked', target: 'closed', actions: ['endWithFailure', 'emitRevoked'] },
        { guard: 'isFinal', target: 'closed', actions: 'endWithFailure' },
        { guard: 'isFirstUnauthorized', target: 'connecting' },
        { target: 'backingOff', actions: 'scheduleRetry' },
      ],
    },

    backingOff: {
      tags: ['backingOff'],
      invoke: {
        src: 'sleepUntil',
        input: ({ context }) => ({ until: context.retryAt! }),
        onDone: { target: 'connecting', actions: 'observe' },
      },
    },

    closed: {
      type: 'final',
      entry: 'rejectQueue',
    },
  },
})

/** The public state of a socket for a snapshot of this machine. */
export function liveSocketStatus(snapshot: SnapshotFrom<typeof liveSocketMachine>): LiveSocketStatus {
  if (snapshot.status === 'done' || snapshot.matches('closed')) return 'closed'
  if (snapshot.hasTag('reauthenticating')) return 'reauthenticating'
  if (snapshot.hasTag('open')) return 'open'
  if (snapshot.hasTag('backingOff')) return 'backingOff'
  if (snapshot.hasTag('connecting')) return 'connecting'
  return 'idle'
}
