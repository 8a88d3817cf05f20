/**
 * Runs the auth statechart with fake effects and a simulated clock. Each
 * effect call waits until the test answers it; `sleepUntil` is the real
 * clock wait on the simulated clock, so time moves only when a test moves it.
 */
import { createActor, fromPromise, type Snapshot } from 'xstate'
import {
  authMachine,
  type AuthEmitted,
  type AuthFailure,
  type AuthInput,
  type PersistInput,
  type PersistOutput,
  type PollApprovalInput,
  type PollApprovalOutput,
  type RefreshTokensInput,
  type RefreshTokensOutput,
  type RevokeTokensInput,
  type RevokeTokensOutput,
  type StartApprovalInput,
  type StartApprovalOutput,
  type TokenSet,
} from '../../machines/auth.js'
import { sleepUntil } from '../../src/clock.js'
import { SimulatedClock } from '../support/simulated-clock.js'

export const T0 = Date.UTC(2026, 0, 1)

export interface Call<I, O> {
  input: I
  signal: AbortSignal
  settled: boolean
  resolve(output: O): void
  reject(error: unknown): void
}

type Effect = 'persist' | 'startApproval' | 'pollApproval' | 'refreshTokens' | 'revokeTokens'

export class FakeEffects {
  readonly calls: Record<Effect, Array<Call<any, any>>> = { persist: [], startApproval: [], pollApproval: [], refreshTokens: [], revokeTokens: [] }
  /** Every effect call and every save, in order, for ordering checks. */
  readonly log: string[] = []
  readonly sleeps: number[] = []
  /** Answer persist calls at once (tests of ordering turn this off). */
  autoPersist = true
  /** Called at each persist, before it is answered: tests read the actor's snapshot here, as the runtime does. */
  onPersist: ((input: { reason: string; tokens: TokenSet | null }) => void) | undefined

  constructor(readonly clock: SimulatedClock) {}

  #effect<I, O>(name: Effect) {
    return fromPromise<O, I>(({ input, signal }) => {
      this.log.push(name === 'persist' ? `persist:${(input as { reason: string }).reason}` : name)
      return new Promise<O>((resolve, reject) => {
        const call: Call<I, O> = {
          input,
          signal,
          settled: false,
          resolve: (output) => ((call.settled = true), resolve(output)),
          reject: (error) => ((call.settled = true), reject(error)),
        }
        this.calls[name].push(call)
        if (name === 'persist') {
          this.onPersist?.(input as never)
          if (this.autoPersist) call.resolve({ at: this.clock.now() } as O)
        }
      })
    })
  }

  get actors() {
    return {
      persist: this.#effect<PersistInput, PersistOutput>('persist'),
      startApproval: this.#effect<StartApprovalInput, StartApprovalOutput>('startApproval'),
      pollApproval: this.#effect<PollApprovalInput, PollApprovalOutput>('pollApproval'),
      refreshTokens: this.#effect<RefreshTokensInput, RefreshTokensOutput>('refreshTokens'),
      revokeTokens: this.#effect<RevokeTokensInput, RevokeTokensOutput>('revokeTokens'),
      sleepUntil: fromPromise<{ at: number }, { until: number }>(async ({ input, signal }) => {
        this.sleeps.push(input.until)
        return { at: await sleepUntil(this.clock, input.until, signal) }
      }),
    }
  }

  /** The one open call of an effect; fails the test when there is none or several. */
  open<O = any>(name: Effect): Call<any, O> {
    const open = this.calls[name].filter((c) => !c.settled && !c.signal.aborted)
    if (open.length !== 1) throw new Error(`expected one open ${name} call, found ${open.length}`)
    return open[0]!
  }

  count(name: Effect): number {
    return this.calls[name].length
  }
}

export function networkFault(at: number, message = 'could not reach the token endpoint: connection refused'): AuthFailure {
  return { code: 'network_error', message, at }
}

export interface Harness {
  clock: SimulatedClock
  effects: FakeEffects
  actor: ReturnType<typeof createActor<typeof authMachine>>
  emitted: AuthEmitted[]
  state(): unknown
}

export function startAuth(options: { input?: AuthInput; snapshot?: Snapshot<unknown>; clock?: SimulatedClock; effects?: FakeEffects } = {}): Harness {
  const clock = options.clock ?? new SimulatedClock(T0)
  const effects = options.effects ?? new FakeEffects(clock)
  const machine = authMachine.provide({ actors: effects.actors })
  const actor = createActor(machine, {
    input: options.input ?? { jitterSeed: 42 },
    clock,
    ...(options.snapshot ? { snapshot: options.snapshot as never } : {}),
  })
  const emitted: AuthEmitted[] = []
  actor.on('*', (event) => emitted.push(event as AuthEmitted))
  actor.start()
  return { clock, effects, actor, emitted, state: () => actor.getSnapshot().value }
}

export function tokenSet(obtainedAt: number, overrides: Partial<TokenSet> = {}): TokenSet {
  return {
    accessToken: `at-${obtainedAt}`,
    tokenType: 'Bearer',
    accessExpiresAt: obtainedAt + 3_600_000,
    refreshToken: `rt-${obtainedAt}`,
    refreshExpiresAt: obtainedAt + 30 * 86_400_000,
    scope: 'agent',
    agentId: 'agt_1',
    obtainedAt,
    ...overrides,
  }
}

export const approvalOf = (at: number, overrides: Record<string, unknown> = {}) => ({
  deviceCode: 'dc-secret',
  userCode: 'WDJB-MJHT',
  verificationUri: 'http://127.0.0.1:4000/device',
  verificationUriComplete: 'http://127.0.0.1:4000/device?user_code=WDJB-MJHT',
  expiresAt: at + 600_000,
  intervalMs: null as number | null,
  agentId: 'agt_1',
  ...overrides,
})

/** Drives a fresh actor to pendingApproval.idle: REGISTER, request saved, approval started. */
export async function toPendingApproval(h: Harness, approval: Record<string, unknown> = {}, longPoll = false): Promise<void> {
  h.actor.send({ type: 'REGISTER', name: 'My Agent', idempotencyKey: 'key-1' })
  await h.clock.settle()
  h.effects.open('startApproval').resolve({ approval: approvalOf(h.clock.now(), approval), longPoll, at: h.clock.now() })
  await h.clock.settle()
}

/** Answers the open poll with `result` at the current time. */
export async function answerPoll(h: Harness, result: unknown, sentAt = h.clock.now()): Promise<void> {
  h.effects.open('pollApproval').resolve({ result, sentAt, at: h.clock.now() })
  await h.clock.settle()
}

/** Drives a fresh actor to signedIn with the given tokens through SET_TOKENS. */
export async function toSignedIn(h: Harness, tokens: TokenSet = tokenSet(h.clock.now())): Promise<void> {
  h.actor.send({ type: 'SET_TOKENS', tokens })
  await h.clock.settle()
}
