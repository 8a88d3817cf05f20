import { createActor, fromPromise } from 'xstate'
import { describe, expect, it } from 'vitest'
import { liveSocketMachine, liveSocketStatus, type LiveSocketContext } from '../../machines/socket.js'
import { flushJobs } from '../support/simulated-clock.js'

const T0 = Date.UTC(2026, 0, 1)

describe('LiveSocket statechart: provided by the runtime', () => {
  it('runs the actions the runtime provides under the same names, with the context of the moment', async () => {
    const calls: string[] = []
    const record = (name: string) => ({ context }: { context: LiveSocketContext }) => calls.push(`${name}#${context.connectionId}`)
    const machine = liveSocketMachine.provide({
      actors: {
        getToken: fromPromise(async ({ input }) => ({ token: `token-for-${input.reason}`, at: T0 })),
        connect: fromPromise(async ({ input }) => {
          calls.push(`connect:${input.token}`)
          return { at: T0 }
        }),
        sleepUntil: fromPromise<{ at: number }, { until: number }>(() => new Promise(() => {})),
      },
      actions: {
        flushQueue: record('flushQueue'),
        closeConnection: record('closeConnection'),
        rejectQueue: ({ context }) => calls.push(`rejectQueue:${context.outcome!.reason}`),
      },
    })
    const actor = createActor(machine, { input: { jitterSeed: 1 } })
    const emitted: string[] = []
    actor.on('*', (e) => emitted.push(e.type))
    actor.start()
    actor.send({ type: 'CONNECT', at: T0 })
    await flushJobs()
    expect(liveSocketStatus(actor.getSnapshot())).toBe('open')
    actor.send({ type: 'CLOSE', at: T0 })
    expect(calls).toEqual(['connect:token-for-initial', 'flushQueue#1', 'closeConnection#1', 'rejectQueue:closed'])
    expect(emitted).toEqual([])
    expect(liveSocketStatus(actor.getSnapshot())).toBe('closed')
  })

  it('an effect left unprovided fails loudly instead of pretending to connect', async () => {
    const actor = createActor(liveSocketMachine, { input: { jitterSeed: 1 } })
    const errors: unknown[] = []
    actor.subscribe({ error: (e) => errors.push(e) })
    actor.start()
    actor.send({ type: 'CONNECT', at: T0 })
    await flushJobs()
    expect(actor.getSnapshot().status).toBe('error')
    expect(errors).toEqual([new TypeError('the sleepUntil actor must be provided with liveSocketMachine.provide()')])
  })
})
