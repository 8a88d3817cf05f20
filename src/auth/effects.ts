/**
 * The real effects of the auth statechart, provided once for the whole
 * process. Providing per manager would build a machine per manager (its
 * whole state tree); instead each effect finds its manager through the actor
 * system it runs in, so ten thousand managers share one machine.
 *
 * Every effect reports the clock's time (`at`) and rejects with the machine's
 * failure shape. Each request is cancelled when the machine leaves the state
 * that started it (the signal xstate hands the effect, passed down to fetch)
 * and is bounded by a timeout, so a request that never gets an answer becomes
 * a network fault the machine retries, not a wait that never ends.
 */
import { fromPromise } from 'xstate'
import {
  authMachine,
  type PersistInput,
  type PersistOutput,
  type PollApprovalInput,
  type PollApprovalOutput,
  type RefreshTokensInput,
  type RefreshTokensOutput,
  type RevokeTokensInput,
  type RevokeTokensOutput,
  type SleepUntilInput,
  type SleepUntilOutput,
  type StartApprovalInput,
  type StartApprovalOutput,
} from '../../machines/auth.js'
import { sleepUntil, type Clock } from '../clock.js'
import { CountersignError, ErrorCodes } from '../errors.js'
import {
  deviceAuthorizationRequest,
  deviceCodeGrantRequest,
  processDeviceAuthorizationResponse,
  processDeviceCodeResponse,
  processRefreshTokenResponse,
  processRevocationResponse,
  refreshTokenGrantRequest,
  revocationRequest,
  type RequestOptions,
  type ServerMetadata,
  type TokenSet,
} from '../protocol/index.js'
import { effectFailure } from './failures.js'
import type { ResolvedOptions } from './options.js'

/** What an effect needs from the manager it works for. */
export interface EffectHost {
  readonly config: ResolvedOptions
  metadata(signal: AbortSignal): Promise<ServerMetadata>
  /** Saves the current snapshot and session; resolves once the store has it. */
  persist(): Promise<void>
  /** One refresh: another manager's newer stored tokens, or the server's answer. */
  refresh(refreshToken: string, signal: AbortSignal): Promise<TokenSet>
}

/** A long-poll is held by the server for up to its wait; allow that plus this. */
const LONG_POLL_MARGIN_MS = 15_000

const hosts = new WeakMap<object, EffectHost>()

/** Ties an actor system (one per manager's actor) to the manager whose effects run in it. */
export function bindEffectHost(system: object, host: EffectHost): void {
  hosts.set(system, host)
}

function hostOf(system: unknown): EffectHost {
  const host = hosts.get(system as object)
  if (host === undefined) throw new TypeError('this auth actor was not created by an AuthManager')
  return host
}

export function requestOptions(config: ResolvedOptions, signal: AbortSignal): RequestOptions {
  return config.fetch === undefined ? { signal } : { signal, fetch: config.fetch }
}

/**
 * Runs `work` with a signal that aborts when `signal` does or when `ms`
 * pass on the clock (as a TimeoutError, which the protocol driver reports
 * as a network fault). The timer is cleared when the work ends.
 */
export async function withTimeout<T>(clock: Clock, signal: AbortSignal, ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const onAbort = () => controller.abort(signal.reason)
  if (signal.aborted) controller.abort(signal.reason)
  else signal.addEventListener('abort', onAbort, { once: true })
  const timer = clock.setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms)
  try {
    return await work(controller.signal)
  } finally {
    clock.clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
  }
}

/** Wraps an effect body: the host is looked up, and any failure carries the clock's time. */
function effect<TOutput, TInput>(body: (host: EffectHost, input: TInput, signal: AbortSignal) => Promise<TOutput>) {
  return fromPromise<TOutput, TInput>(async ({ input, system, signal }) => {
    const host = hostOf(system)
    try {
      return await body(host, input, signal)
    } catch (error) {
      throw effectFailure(error, host.config.clock.now())
    }
  })
}

const persist = effect<PersistOutput, PersistInput>(async (host) => {
  await host.persist()
  return { at: host.config.clock.now() }
})

const startApproval = effect<StartApprovalOutput, StartApprovalInput>(async (host, input, signal) => {
  const { config } = host
  const metadata = await host.metadata(signal)
  const approval = await withTimeout(config.clock, signal, config.requestTimeoutMs, async (bounded) => {
    const params = {
      clientId: config.clientId,
      idempotencyKey: input.idempotencyKey,
      ...(input.request.scope === null ? {} : { scope: input.request.scope }),
      ...(input.request.agent === null ? {} : { agent: input.request.agent }),
    }
    const response = await deviceAuthorizationRequest(metadata, params, requestOptions(config, bounded))
    return processDeviceAuthorizationResponse(response, { now: config.clock.now() })
  })
  return { approval, longPoll: config.longPoll !== false && metadata.longPollSupported, at: config.clock.now() }
})

const pollApproval = effect<PollApprovalOutput, PollApprovalInput>(async (host, input, signal) => {
  const { config } = host
  const metadata = await host.metadata(signal)
  const sentAt = config.clock.now()
  const timeout = input.waitSeconds === null ? config.requestTimeoutMs : input.waitSeconds * 1000 + LONG_POLL_MARGIN_MS
  const result = await withTimeout(config.clock, signal, timeout, async (bounded) => {
    const params = { deviceCode: input.deviceCode, clientId: config.clientId, ...(input.waitSeconds === null ? {} : { waitSeconds: input.waitSeconds }) }
    const response = await deviceCodeGrantRequest(metadata, params, requestOptions(config, bounded))
    return processDeviceCodeResponse(response, { now: config.clock.now() })
  })
  return { result, sentAt, at: config.clock.now() }
})

/** One refresh-token grant at the server. */
export async function refreshAtServer(config: ResolvedOptions, metadata: ServerMetadata, refreshToken: string, signal: AbortSignal): Promise<TokenSet> {
  return withTimeout(config.clock, signal, config.requestTimeoutMs, async (bounded) => {
    const response = await refreshTokenGrantRequest(metadata, { refreshToken, clientId: config.clientId }, requestOptions(config, bounded))
    return processRefreshTokenResponse(response, { now: config.clock.now() })
  })
}

const refreshTokens = effect<RefreshTokensOutput, RefreshTokensInput>(async (host, input, signal) => {
  const tokens = await host.refresh(input.refreshToken, signal)
  return { tokens, at: host.config.clock.now() }
})

/** Refresh tokens come first: revoking one revokes its whole family (protocol §4.2). */
const revokeTokens = effect<RevokeTokensOutput, RevokeTokensInput>(async (host, input, signal) => {
  const { config } = host
  const metadata = await host.metadata(signal)
  if (metadata.revocationEndpoint === null) {
    throw new CountersignError(ErrorCodes.OAUTH_ERROR, 'the server names no revocation endpoint; the tokens were dropped here but not revoked there')
  }
  for (const { token, hint } of input.tokens) {
    await withTimeout(config.clock, signal, config.requestTimeoutMs, async (bounded) => {
      const response = await revocationRequest(metadata, { token, clientId: config.clientId, tokenTypeHint: hint }, requestOptions(config, bounded))
      await processRevocationResponse(response)
    })
  }
  return { at: config.clock.now() }
})

const sleep = fromPromise<SleepUntilOutput, SleepUntilInput>(async ({ input, system, signal }) => {
  const { clock } = hostOf(system).config
  return { at: await sleepUntil(clock, input.until, signal) }
})

/** The auth statechart with the real effects, shared by every AuthManager. */
export const runtimeMachine = authMachine.provide({
  actors: { persist, startApproval, pollApproval, refreshTokens, revokeTokens, sleepUntil: sleep },
})
