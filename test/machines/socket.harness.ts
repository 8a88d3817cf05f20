/**
 * Runs the LiveSocket statechart with fake effects and a simulated clock.
 * Each getToken, connect and reauthenticate call waits until the test
 * answers it; `sleepUntil` sleeps on the simulated clock, so time moves only
 * when a test moves it. Emitted effects (flushQueue, sendPing, terminate...)
 * are recorded in order together with the actor calls.
 */
import { createActor, fromPromise } from 'xstate'
import {
  liveSocketMachine,
  liveSocketStatus,
  type ConnectInput,
  type ConnectOutput,
  type GetTokenInput,
  type GetTokenOutput,
  type LiveSocketEmitted,
  type LiveSocketInput,
  type ReauthenticateInput,
  type ReauthenticateOutput,
} from '../../machines/socket.js'
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

type Effect = 'getToken' | 'connect' | 'reauthenticate'

export class FakeSocketEffects {
  readonly calls: { getToken: Array<Call<GetTokenInput, GetTokenOutput>>; connect: Array<Call<ConnectInput, ConnectOutput>>; reauthenticate: Array<Call<ReauthenticateInput, ReauthenticateOutput>> } = {
    getToken: [],
    connect: [],
    reauthenticate: [],
  }
  /** Every sleep asked for, with its signal. */
  readonly sleeps: Array<{ until: number; signal: AbortSignal }> = []
  /** Effect calls and emitted effects in order, e.g. 'getToken:initial', 'connect#1', 'flushQueue#1'. */
  readonly log: string[] = []

  constructor(readonly clock: SimulatedClock) {}

  #effect<I, O>(name: Effect, describe: (input: I) => string) {
    return fromPromise<O, I>(({ input, signal }) => {
      this.log.push(describe(input))
      return new Promise<O>((resolve, reject) => {
        const call: Call<I, O> = {
          input,
          signal,
          settled: false,
          resolve: (output) => ((call.settled = true), resolve(output)),
          reject: (error) => ((call.settled = true), reject(error)),
        }
        ;(this.calls[name] as Array<Call<I, O>>).push(call)
      })
    })
  }

  get actors() {
    return {
      getToken: this.#effect<GetTokenInput, GetTokenOutput>('getToken', (i) => `getToken:${i.reason}`),
      connect: this.#effect<ConnectInput, ConnectOutput>('connect', (i) => `connect#${i.connectionId}`),
      reauthenticate: this.#effect<ReauthenticateInput, ReauthenticateOutput>('reauthenticate', (i) => `reauthenticate#${i.connectionId}`),
      sleepUntil: fromPromise<{ at: number }, { until: number }>(async ({ input, signal }) => {
        this.sleeps.push({ until: input.until, signal })
        return { at: await sleepUntil(this.clock, input.until, signal) }
      }),
    }
  }

  /** The one open call of an effect; fails the test when there is none or several. */
  open<N extends Effect>(name: N): FakeSocketEffects['calls'][N][number] {
    const open = this.calls[name].filter((c) => !c.settled && !c.signal.aborted)
    if (open.length !== 1) throw new Error(`expected one open ${name} call, found ${open.length}`)
    return open[0]! as FakeSocketEffects['calls'][N][number]
  }

  count(name: Effect): number {
    return this.calls[name].length
  }
}

export function startSocket(options: { input?: LiveSocketInput; start?: number; connect?: boolean } = {}) {
  const clock = new SimulatedClock(options.start ?? T0)
  const effects = new FakeSocketEffects(clock)
  const machine = liveSocketMachine.provide({ actors: effects.actors })
  const actor = createActor(machine, { input: options.input ?? { jitterSeed: 7 } })
  const emitted: LiveSocketEmitted[] = []
  actor.on('*', (event) => {
    emitted.push(event)
    effects.log.push('connectionId' in event ? `${event.type}#${event.connectionId}` : event.type)
  })
  actor.start()
  if (options.connect !== false) actor.send({ type: 'CONNECT', at: clock.now() })
  const h = {
    clock,
    effects,
    actor,
    emitted,
    status: () => liveSocketStatus(actor.getSnapshot()),
    context: () => actor.getSnapshot().context,
    writable: () => actor.getSnapshot().hasTag('writable'),
    emittedOf: <T extends LiveSocketEmitted['type']>(type: T) => emitted.filter((e): e is Extract<LiveSocketEmitted, { type: T }> => e.type === type),
  }
  return h
}

export type SocketHarness = ReturnType<typeof startSocket>

/** Answers the open getToken call with `token` at the current time. */
export async function giveToken(h: SocketHarness, token = 'tok-1'): Promise<void> {
  h.effects.open('getToken').resolve({ token, at: h.clock.now() })
  await h.clock.settle()
}

/** Answers the open connect call: the connection is open. */
export async function acceptConnection(h: SocketHarness): Promise<void> {
  h.effects.open('connect').resolve({ at: h.clock.now() })
  await h.clock.settle()
}

/** Rejects the open connect call with `error` (stamped with the current time unless it has one). */
export async function failConnection(h: SocketHarness, error: Record<string, unknown> = { message: 'connect ECONNREFUSED 127.0.0.1:4000' }): Promise<void> {
  h.effects.open('connect').reject({ at: h.clock.now(), ...error })
  await h.clock.settle()
}

/** From a fresh CONNECT to an open connection with `token`. */
export async function toOpen(h: SocketHarness, token = 'tok-1'): Promise<void> {
  await h.clock.settle()
  await giveToken(h, token)
  await acceptConnection(h)
}

/** The server closes the open connection with `code`. */
export async function serverCloses(h: SocketHarness, code: number, reason?: string): Promise<void> {
  h.actor.send({ type: 'SOCKET_CLOSED', connectionId: h.context().connectionId, code, at: h.clock.now(), ...(reason ? { reason } : {}) })
  await h.clock.settle()
}
