import { mkdtemp, readFile, rm, stat, utimes, writeFile, readdir } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { CountersignError } from '../../src/errors.js'
import { acquireFileLock, type FileLock } from '../../stores/lock.js'
import { StoreProcess } from './child.js'
import { expectCountersignError } from './contract.js'

let dir: string
let count = 0
const held: FileLock[] = []
const children: StoreProcess[] = []
const fresh = () => join(dir, `data-${++count}.json`)
const lockOf = (path: string) => `${path}.lock`

async function take(path: string, options?: Parameters<typeof acquireFileLock>[1]): Promise<FileLock> {
  const lock = await acquireFileLock(path, options)
  held.push(lock)
  return lock
}

/** A lock file as another process would have left it. */
async function leaveLock(path: string, owner: { pid: number; host?: string; token?: string }, ageMs = 0): Promise<void> {
  const content = { pid: owner.pid, host: owner.host ?? hostname(), token: owner.token ?? 'ab'.repeat(12), acquiredAt: Date.now() - ageMs }
  await writeFile(path, JSON.stringify(content))
  const when = new Date(Date.now() - ageMs)
  await utimes(path, when, when)
}

/** The pid of a process that ran and is gone. */
async function deadPid(): Promise<number> {
  const child = await StoreProcess.start()
  await child.killHard()
  return child.pid
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'countersign-lock-'))
})
afterEach(async () => {
  await Promise.all(held.splice(0).map((lock) => lock.release()))
  await Promise.all(children.splice(0).map((child) => child.stop()))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('acquireFileLock', () => {
  it('writes a lock file naming this process beside the file, and release removes it', async () => {
    const path = fresh()
    const lock = await take(path)
    expect(lock.lockPath).toBe(lockOf(path))
    const owner = JSON.parse(await readFile(lockOf(path), 'utf8')) as Record<string, unknown>
    expect(owner).toMatchObject({ pid: process.pid, host: hostname() })
    expect((await stat(lockOf(path))).mode & 0o777).toBe(0o600)
    await lock.release()
    await lock.release()
    await expect(stat(lockOf(path))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('refuses a second holder in the same process with file_locked naming the file, until the first releases', async () => {
    const path = fresh()
    const lock = await take(path)
    await expectCountersignError(acquireFileLock(path), 'file_locked', new RegExp(`^the file ${path} is in use: this process already holds its writer lock`))
    await lock.release()
    await take(path)
  })

  it('refuses a live holder in another process with file_locked naming the file and the holder', async () => {
    const path = fresh()
    const child = await StoreProcess.start()
    children.push(child)
    expect(await child.send({ op: 'lock', path })).toMatchObject({ ok: true })
    const error = await expectCountersignError(acquireFileLock(path), 'file_locked', new RegExp(`^the file ${path} is in use: process ${child.pid} on this host holds its writer lock`))
    expect(error.name).toBe('CountersignError')
    await child.send({ op: 'release' })
    await take(path)
  })

  it('takes over at once from a holder killed with kill -9', async () => {
    const path = fresh()
    const child = await StoreProcess.start()
    children.push(child)
    await child.send({ op: 'lock', path })
    await child.killHard()
    expect(JSON.parse(await readFile(lockOf(path), 'utf8'))).toMatchObject({ pid: child.pid })
    await take(path)
    expect(JSON.parse(await readFile(lockOf(path), 'utf8'))).toMatchObject({ pid: process.pid })
  })

  it('takes over a lock left with this pid by an earlier life of the process', async () => {
    const path = fresh()
    await leaveLock(lockOf(path), { pid: process.pid })
    await take(path)
  })

  it('keeps a fresh lock of another host, and takes it over once it is older than staleMs', async () => {
    const path = fresh()
    await leaveLock(lockOf(path), { pid: 1, host: 'elsewhere' })
    await expectCountersignError(acquireFileLock(path, { staleMs: 5_000 }), 'file_locked', /process 1 on host elsewhere holds its writer lock/)
    await take(path, { staleMs: 5_000, now: () => Date.now() + 5_001 })
  })

  it('keeps a live same-host holder whose lock is fresh, but not one whose lock aged out (a reused pid)', async () => {
    const path = fresh()
    const child = await StoreProcess.start()
    children.push(child)
    await leaveLock(lockOf(path), { pid: child.pid })
    await expectCountersignError(acquireFileLock(path, { staleMs: 5_000 }), 'file_locked', new RegExp(`process ${child.pid} on this host`))
    await take(path, { staleMs: 5_000, now: () => Date.now() + 6_000 })
  })

  it('treats an empty lock file as being written while fresh, and as abandoned once stale', async () => {
    const path = fresh()
    await writeFile(lockOf(path), '')
    await expectCountersignError(acquireFileLock(path, { staleMs: 5_000 }), 'file_locked', /another process holds its writer lock/)
    await take(path, { staleMs: 5_000, now: () => Date.now() + 6_000 })
  })

  it('judges a lock file that names no owner by a short age (500 ms by default), not by staleMs', async () => {
    for (const content of ['', '{"pid":', 'not json']) {
      const path = fresh()
      await writeFile(lockOf(path), content)
      // Written by a creator killed before it wrote its owner: nobody named can still be alive.
      await expectCountersignError(acquireFileLock(path, { staleMs: 10_000, now: () => Date.now() + 300 }), 'file_locked', /another process/)
      const lock = await take(path, { staleMs: 10_000, now: () => Date.now() + 600 })
      expect(JSON.parse(await readFile(lockOf(path), 'utf8'))).toMatchObject({ pid: process.pid })
      await lock.release()
    }
  })

  it('keeps the full staleMs for a lock whose owner is named, however young an unnamed one may be judged', async () => {
    const path = fresh()
    await leaveLock(lockOf(path), { pid: 1, host: 'another-host' })
    await expectCountersignError(acquireFileLock(path, { staleMs: 10_000, now: () => Date.now() + 5_000 }), 'file_locked', /host another-host/)
  })

  it('refuses an unnamedStaleMs that is not a positive number', async () => {
    await expect(acquireFileLock(fresh(), { unnamedStaleMs: 0 })).rejects.toThrow(/unnamedStaleMs must be a positive number/)
  })

  it('is not blocked by a takeover marker a crashed taker left behind', async () => {
    const path = fresh()
    const dead = await deadPid()
    const staleToken = 'cd'.repeat(12)
    await leaveLock(lockOf(path), { pid: dead, token: staleToken })
    await leaveLock(`${lockOf(path)}.takeover-${staleToken}`, { pid: dead, token: 'ef'.repeat(12) })
    await take(path)
    expect(JSON.parse(await readFile(lockOf(path), 'utf8'))).toMatchObject({ pid: process.pid })
  })

  it('lets exactly one of several processes take over the same stale lock at the same moment', async () => {
    const racers = await Promise.all([1, 2, 3, 4].map(() => StoreProcess.start()))
    children.push(...racers)
    const dead = await deadPid()
    for (let round = 0; round < 5; round++) {
      const path = fresh()
      await leaveLock(lockOf(path), { pid: dead, token: `${round}`.padStart(24, 'a') })
      const replies = await Promise.all(racers.map((racer) => racer.send({ op: 'lock', path })))
      const winners = replies.filter((reply) => reply.ok)
      expect(winners).toHaveLength(1)
      for (const loser of replies.filter((reply) => !reply.ok)) {
        expect(loser.code).toBe('file_locked')
        expect(loser.message).toMatch(new RegExp(`^the file ${path} is in use`))
      }
      const winner = racers[replies.indexOf(winners[0]!)]!
      expect(JSON.parse(await readFile(lockOf(path), 'utf8'))).toMatchObject({ pid: winner.pid })
    }
    const leftovers = (await readdir(dir)).filter((name) => name.includes('.takeover-'))
    expect(leftovers).toEqual([])
  })

  it('touches the lock file while held, so a live holder never ages out', async () => {
    const path = fresh()
    await take(path, { staleMs: 90 })
    const past = new Date(Date.now() - 60_000)
    await utimes(lockOf(path), past, past)
    await vi.waitFor(async () => expect((await stat(lockOf(path))).mtimeMs).toBeGreaterThan(Date.now() - 10_000), { timeout: 2_000, interval: 10 })
  })

  it('reports once when the lock is taken over while held, and then leaves the new holder’s lock alone', async () => {
    const path = fresh()
    const lost: CountersignError[] = []
    const lock = await take(path, { staleMs: 60, onLost: (error) => lost.push(error) })
    await leaveLock(lockOf(path), { pid: 1, host: 'elsewhere' })
    await vi.waitFor(() => expect(lost).toHaveLength(1), { timeout: 2_000, interval: 10 })
    expect(lost[0]).toBeInstanceOf(CountersignError)
    expect(lost[0]!.code).toBe('file_locked')
    expect(lost[0]!.message).toBe(`the writer lock of ${path} was taken over or removed while this process held it`)
    await lock.release()
    expect(JSON.parse(await readFile(lockOf(path), 'utf8'))).toMatchObject({ host: 'elsewhere' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(lost).toHaveLength(1)
  })

  it('refuses bad arguments with a TypeError naming them', async () => {
    await expect(acquireFileLock('')).rejects.toThrow(new TypeError('path must be a non-empty string'))
    await expect(acquireFileLock(fresh(), { staleMs: 0 })).rejects.toThrow(new TypeError('options.staleMs must be a positive number of milliseconds'))
  })
})
