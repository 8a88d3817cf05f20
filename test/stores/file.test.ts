import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { CorruptFileError } from '../../src/errors.js'
import type { SessionChange } from '../../stores/contract.js'
import { FileStore, type FileStoreOptions } from '../../stores/file.js'
import { StoreProcess } from './child.js'
import { expectCountersignError, fullSession, nextChange } from './contract.js'

let root: string
let count = 0
const stores: FileStore[] = []
const children: StoreProcess[] = []

/** A fresh folder with the path of a session file in it. */
async function freshPath(): Promise<string> {
  const dir = join(root, `case-${++count}`)
  await mkdir(dir)
  return join(dir, 'session.json')
}

function storeAt(path: string, options?: FileStoreOptions): FileStore {
  const store = new FileStore(path, options)
  stores.push(store)
  return store
}

async function startChild(): Promise<StoreProcess> {
  const child = await StoreProcess.start()
  children.push(child)
  return child
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'countersign-file-'))
})
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()))
  await Promise.all(children.splice(0).map((child) => child.stop()))
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('FileStore writes', () => {
  it('leaves the file with mode 0600 after every write, even when it was 0644 before', async () => {
    const path = await freshPath()
    await writeFile(path, JSON.stringify({ format: 'countersign-session', formatVersion: 1, version: 0, session: null }))
    await chmod(path, 0o644)
    const store = storeAt(path)
    for (let i = 0; i < 3; i++) {
      await store.save({ ...fullSession, accessToken: `access-${i}` })
      expect(await modeOf(path)).toBe(0o600)
    }
    await store.clear()
    expect(await modeOf(path)).toBe(0o600)
  })

  it('writes a readable document naming its format and version', async () => {
    const path = await freshPath()
    await storeAt(path).save(fullSession)
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ format: 'countersign-session', formatVersion: 1, version: 1, session: fullSession })
  })

  it('writes the document as JSON indented by two spaces, for a session, a cleared one and a snapshot holding line breaks', async () => {
    const path = await freshPath()
    const store = storeAt(path)
    const indented = async () => {
      const text = await readFile(path, 'utf8')
      expect(text).toBe(JSON.stringify(JSON.parse(text), null, 2) + '\n')
    }
    await store.save({ ...fullSession, machine: { ...fullSession.machine, snapshot: { note: 'two\nlines', nested: [{ deep: [1, { x: null }] }], empty: {}, none: [] } } })
    await indented()
    await store.save({ accessToken: 'only' })
    await indented()
    await store.clear()
    await indented()
  })

  it('serializes a saved session once, and parses its snapshot back only when the record is looked into', async () => {
    const path = await freshPath()
    const store = storeAt(path)
    await store.open()
    const stringify = vi.spyOn(JSON, 'stringify')
    const parse = vi.spyOn(JSON, 'parse')
    try {
      const saved = await store.save(fullSession)
      expect(stringify).toHaveBeenCalledTimes(1)
      expect(parse).not.toHaveBeenCalled()

      const snapshot = saved.machine!.snapshot
      expect(snapshot).toEqual(fullSession.machine.snapshot)
      expect(saved.machine!.snapshot).toBe(snapshot)
      expect(parse).toHaveBeenCalledTimes(1)
      expect(Object.isFrozen(saved.machine)).toBe(true)
      expect(Object.isFrozen((snapshot as { context: object }).context)).toBe(true)
    } finally {
      stringify.mockRestore()
      parse.mockRestore()
    }
    expect(JSON.parse(await readFile(path, 'utf8')).session).toEqual(fullSession)
  })

  it('leaves no temp files behind, and no lock file once closed', async () => {
    const path = await freshPath()
    const store = storeAt(path)
    await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.save({ ...fullSession, accessToken: `access-${i}` })))
    expect((await readdir(join(path, '..'))).sort()).toEqual(['session.json', 'session.json.lock'])
    await store.close()
    expect(await readdir(join(path, '..'))).toEqual(['session.json'])
  })

  it('keeps the previous record when a write fails', async () => {
    const path = await freshPath()
    const store = storeAt(join(path, '..', 'nested', 'session.json'))
    await store.save(fullSession)
    // A file where the folder was makes every later write fail.
    await rm(join(path, '..', 'nested'), { recursive: true })
    await writeFile(join(path, '..', 'nested'), 'not a folder')
    await expect(store.save({ ...fullSession, accessToken: 'lost' })).rejects.toMatchObject({ code: expect.stringMatching(/^(ENOTDIR|EEXIST)$/) })
    expect(await store.load()).toEqual({ ...fullSession, version: 1 })
  })

  it('finishes a save in flight before close releases the lock, and refuses saves after it', async () => {
    const path = await freshPath()
    const store = storeAt(path)
    await store.open()
    const saving = store.save(fullSession)
    const closing = store.close()
    expect((await saving).version).toBe(1)
    await closing
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ version: 1, session: fullSession })
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' })
    await expectCountersignError(store.save(fullSession), 'disposed', /^the session store is closed$/)
  })

  it('creates a missing folder with mode 0700', async () => {
    const path = join(await freshPath(), '..', 'new', 'deeper', 'session.json')
    await storeAt(path).save(fullSession)
    expect(await modeOf(join(path, '..'))).toBe(0o700)
    expect(await modeOf(path)).toBe(0o600)
  })

  it('refuses a second writer in the same process with file_locked naming the file', async () => {
    const path = await freshPath()
    await storeAt(path).open()
    await expectCountersignError(storeAt(path).load(), 'file_locked', new RegExp(`^the file ${path} is in use`))
  })

  it('opens at once beside an empty lock file a killed writer left a second ago, with the default lock settings', async () => {
    const path = await freshPath()
    await writeFile(`${path}.lock`, '')
    const aSecondAgo = new Date(Date.now() - 1_000)
    await utimes(`${path}.lock`, aSecondAgo, aSecondAgo)
    await storeAt(path).save(fullSession)
    expect(JSON.parse(await readFile(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid })
  })
})

describe('FileStore with a corrupt file', () => {
  it('moves the file aside, reports it once with where it was kept, and starts empty', async () => {
    const path = await freshPath()
    await writeFile(path, '{"format": "countersign-session", "vers')
    const reports: CorruptFileError[] = []
    const store = storeAt(path, { onCorrupt: (error) => reports.push(error) })
    expect(await store.load()).toBeNull()
    expect(await store.load()).toBeNull()
    expect(reports).toHaveLength(1)
    const report = reports[0]!
    expect(report).toBeInstanceOf(CorruptFileError)
    expect(report.code).toBe('corrupt_file')
    expect(report.path).toBe(path)
    expect(basename(report.keptAt!)).toMatch(/^session\.json\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z-[0-9a-f]{6}$/)
    expect(report.message).toBe(`the file ${path} is corrupt and was not used (kept at ${report.keptAt})`)
    expect(await readFile(report.keptAt!, 'utf8')).toBe('{"format": "countersign-session", "vers')
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' })
    await store.save(fullSession)
    expect(await readFile(report.keptAt!, 'utf8')).toBe('{"format": "countersign-session", "vers')
  })

  it('treats JSON of the wrong shape as corrupt too', async () => {
    const path = await freshPath()
    const text = JSON.stringify({ format: 'countersign-session', formatVersion: 1, version: 2, session: { accessToken: 7 } })
    await writeFile(path, text)
    const reports: CorruptFileError[] = []
    expect(await storeAt(path, { onCorrupt: (error) => reports.push(error) }).load()).toBeNull()
    expect(reports).toHaveLength(1)
    expect(await readFile(reports[0]!.keptAt!, 'utf8')).toBe(text)
  })

  it('reports through a process warning when no handler is given', async () => {
    const path = await freshPath()
    await writeFile(path, 'garbage')
    const warning = new Promise<Error>((resolve) => process.once('warning', resolve))
    await storeAt(path).load()
    const reported = await warning
    expect(reported.message).toMatch(new RegExp(`^the file ${path} is corrupt and was not used \\(kept at ${path}\\.corrupt-`))
  })

  it('leaves the file in place when opened read-only, and reports it once', async () => {
    const path = await freshPath()
    await writeFile(path, 'garbage')
    const reports: CorruptFileError[] = []
    const store = storeAt(path, { readOnly: true, onCorrupt: (error) => reports.push(error) })
    expect(await store.load()).toBeNull()
    expect(await store.load()).toBeNull()
    expect(reports).toHaveLength(1)
    expect(reports[0]!.keptAt).toBeUndefined()
    expect(await readFile(path, 'utf8')).toBe('garbage')
  })
})

describe('FileStore across processes', () => {
  it('refuses a second live process with file_locked naming the file, and opens once the first closes', async () => {
    const path = await freshPath()
    const child = await startChild()
    expect(await child.send({ op: 'open', path })).toMatchObject({ ok: true })
    await expectCountersignError(storeAt(path).save(fullSession), 'file_locked', new RegExp(`^the file ${path} is in use: process ${child.pid} on this host`))
    expect(await child.send({ op: 'save', record: fullSession })).toMatchObject({ ok: true, version: 1 })
    await child.send({ op: 'release' })
    expect(await storeAt(path).load()).toEqual({ ...fullSession, version: 1 })
  })

  it('opens at once after the writer process is killed with kill -9, with what it saved', async () => {
    const path = await freshPath()
    const child = await startChild()
    await child.send({ op: 'open', path })
    await child.send({ op: 'save', record: fullSession })
    await child.killHard()
    const store = storeAt(path)
    expect(await store.load()).toEqual({ ...fullSession, version: 1 })
    expect((await store.save(fullSession, { expectedVersion: 1 })).version).toBe(2)
  })

  it('removes the temp file a writer killed before its rename left behind, holding a token, once it opens the file', async () => {
    const path = await freshPath()
    const dir = join(path, '..')
    const child = await startChild()
    await child.send({ op: 'open', path })
    await child.send({ op: 'save', record: fullSession })
    expect(await child.send({ op: 'saveAndHang', record: { ...fullSession, accessToken: 'the-unrenamed-token' } })).toMatchObject({ ok: true, hanging: true })
    await child.killHard()
    const leftover = (await readdir(dir)).filter((name) => name.endsWith('.tmp'))
    expect(leftover).toEqual([expect.stringMatching(new RegExp(`^\\.session\\.json\\.${child.pid}\\.[0-9a-f]{12}\\.tmp$`))])
    expect(await readFile(join(dir, leftover[0]!), 'utf8')).toContain('the-unrenamed-token')

    const store = storeAt(path)
    expect(await store.load()).toEqual({ ...fullSession, version: 1 })
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('keeps temp files a live writer may still rename, other files’ temps and lowdb’s fixed temp name; removes a live pid’s only when old', async () => {
    const path = await freshPath()
    const dir = join(path, '..')
    const recent = `.session.json.${process.pid}.0123456789ab.tmp`
    const old = `.session.json.${process.pid}.ba9876543210.tmp`
    const untouched = [recent, '.session.json.tmp', '.other.json.999999999.0123456789ab.tmp', `.session.json.${process.pid}.short.tmp`]
    for (const name of [...untouched, old]) await writeFile(join(dir, name), 'secret')
    const hourAgo = new Date(Date.now() - 3600_000)
    await utimes(join(dir, old), hourAgo, hourAgo)

    await storeAt(path).open()

    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp')).sort()).toEqual([...untouched].sort())
  })

  it('a second process sees the first one’s live lock, not the one from before its restart', async () => {
    const path = await freshPath()
    const first = await startChild()
    await first.send({ op: 'open', path })
    await first.killHard()
    const second = await startChild()
    expect(await second.send({ op: 'open', path })).toMatchObject({ ok: true })
    await expectCountersignError(storeAt(path).load(), 'file_locked', new RegExp(`process ${second.pid} on this host`))
  })

  it('delivers the changes another process makes to a read-only store’s feed', async () => {
    const path = await freshPath()
    const child = await startChild()
    await child.send({ op: 'open', path })
    await child.send({ op: 'save', record: fullSession })
    const observer = storeAt(path, { readOnly: true })
    expect((await observer.load())?.version).toBe(1)
    const changes: SessionChange[] = []
    observer.watch((change) => changes.push(change))
    let change = nextChange(observer)
    await child.send({ op: 'save', record: { ...fullSession, accessToken: 'access-2' } })
    expect(await change).toEqual({ version: 2, record: { ...fullSession, accessToken: 'access-2', version: 2 }, origin: 'remote' })
    change = nextChange(observer)
    await child.send({ op: 'clear' })
    expect(await change).toEqual({ version: 3, record: null, origin: 'remote' })
    expect(changes.map((c) => c.version)).toEqual([2, 3])
    expect(await observer.load()).toBeNull()
  })

  it('stops writing once another process took its lock over, and says so', async () => {
    const path = await freshPath()
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    try {
      const store = storeAt(path, { lock: { staleMs: 60 } })
      await store.save(fullSession)
      await writeFile(`${path}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere', token: 'ab'.repeat(12), acquiredAt: 0 }))
      await vi.waitFor(() => expect(warnings.map((w) => w.message)).toEqual([`the writer lock of ${path} was taken over or removed while this process held it`]), { timeout: 2_000, interval: 10 })
      await expectCountersignError(store.save({ ...fullSession, accessToken: 'late' }), 'file_locked', /was taken over or removed/)
      expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ version: 1, session: { accessToken: 'access-1' } })
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('refuses writes and leases on a read-only store with a TypeError', async () => {
    const path = await freshPath()
    const observer = storeAt(path, { readOnly: true })
    const message = `store was opened read-only (readOnly: true) and cannot write ${path}`
    await expect(observer.save(fullSession)).rejects.toThrow(new TypeError(message))
    await expect(observer.clear()).rejects.toThrow(new TypeError(message))
    await expect(observer.acquireLease('refresh', 1_000)).rejects.toThrow(new TypeError(message))
  })
})

describe('FileStore arguments', () => {
  it('refuses a bad path or handler with a TypeError naming it', () => {
    expect(() => new FileStore('')).toThrow(new TypeError('path must be a non-empty string'))
    expect(() => new FileStore('x.json', { onCorrupt: 'log' as unknown as () => void })).toThrow(new TypeError('options.onCorrupt must be a function'))
  })
})
