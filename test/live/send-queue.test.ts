import { describe, expect, it } from 'vitest'
import { CountersignError, ErrorCodes } from '../../src/errors.js'
import { SendQueue, type OutgoingData } from '../../src/live/send-queue.js'

const closedError = () => new CountersignError(ErrorCodes.SOCKET_CLOSED, 'the message was not sent: the socket was closed')

/** A connection stand-in that records frames and lets the test report each write done or failed. */
function recorder() {
  const frames: Array<{ data: OutgoingData; done: (error?: Error) => void }> = []
  return { frames, write: (data: OutgoingData, done: (error?: Error) => void) => void frames.push({ data, done }) }
}

async function settledStates(promises: Array<Promise<void>>): Promise<string[]> {
  const states = promises.map(() => 'pending')
  promises.forEach((p, i) => p.then(() => (states[i] = 'written'), (e: Error) => (states[i] = `rejected: ${e.message}`)))
  await new Promise((resolve) => setImmediate(resolve))
  return states
}

describe('SendQueue', () => {
  it('writes waiting sends in order and resolves each once its write is done', async () => {
    const queue = new SendQueue(10)
    const sends = ['a', 'b', 'c'].map((d) => queue.add(d))
    const connection = recorder()
    queue.flush(connection.write)
    expect(connection.frames.map((f) => f.data)).toEqual(['a', 'b', 'c'])
    connection.frames[0]!.done()
    connection.frames[2]!.done()
    expect(await settledStates(sends)).toEqual(['written', 'pending', 'written'])
    expect(queue.size).toBe(1)
  })

  it('rejects a send with QUEUE_FULL when as many sends as the limit are not yet written', async () => {
    const queue = new SendQueue(2)
    void queue.add('a')
    void queue.add('b')
    const error = await queue.add('c').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CountersignError)
    expect(error).toMatchObject({ code: ErrorCodes.QUEUE_FULL, message: 'the send queue is full (2 messages not yet written); wait for earlier sends or raise options.queueSize' })
    // Handed to a connection but not yet written still counts.
    const connection = recorder()
    queue.flush(connection.write)
    await expect(queue.add('d')).rejects.toMatchObject({ code: ErrorCodes.QUEUE_FULL })
    connection.frames[0]!.done()
    await new Promise((resolve) => setImmediate(resolve))
    const later = queue.add('e')
    expect(queue.size).toBe(2)
    queue.flush(connection.write)
    connection.frames[2]!.done()
    await expect(later).resolves.toBeUndefined()
  })

  it('puts a send whose write failed back at its place, for the next connection', async () => {
    const queue = new SendQueue(10)
    const sends = ['1', '2', '3'].map((d) => queue.add(d))
    const dying = recorder()
    queue.flush(dying.write)
    const late = queue.add('4')
    dying.frames[0]!.done()
    dying.frames[2]!.done(new Error('socket closed'))
    dying.frames[1]!.done(new Error('socket closed'))
    const next = recorder()
    queue.flush(next.write)
    expect(next.frames.map((f) => f.data)).toEqual(['2', '3', '4'])
    for (const frame of next.frames) frame.done()
    expect(await settledStates([...sends, late])).toEqual(['written', 'written', 'written', 'written'])
  })

  it('once closed: rejects waiting sends now, failed writes when they fail, later sends at once; written ones stay written', async () => {
    const queue = new SendQueue(10)
    const inFlight = [queue.add('a'), queue.add('b')]
    const connection = recorder()
    queue.flush(connection.write)
    const waiting = queue.add('c')
    queue.close(closedError)
    connection.frames[0]!.done()
    connection.frames[1]!.done(new Error('socket closed'))
    const after = queue.add('d')
    const message = 'rejected: the message was not sent: the socket was closed'
    expect(await settledStates([...inFlight, waiting, after])).toEqual(['written', message, message, message])
    expect(queue.size).toBe(0)
  })

  it('settles a send once even when a write reports twice', async () => {
    const queue = new SendQueue(10)
    const send = queue.add('a')
    const connection = recorder()
    queue.flush(connection.write)
    connection.frames[0]!.done()
    connection.frames[0]!.done(new Error('late error'))
    await expect(send).resolves.toBeUndefined()
    expect(queue.size).toBe(0)
  })
})

describe('SendQueue requeue notice', () => {
  it('tells its owner when a failed write went back into the queue', () => {
    let notices = 0
    const queue = new SendQueue(10, () => notices++)
    void queue.add('a')
    const connection = recorder()
    queue.flush(connection.write)
    connection.frames[0]!.done(new Error('socket closed'))
    expect(notices).toBe(1)
    expect(queue.waiting).toBe(1)
  })
})
