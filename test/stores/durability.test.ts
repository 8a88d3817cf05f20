/**
 * Durability of the atomic JSON writes under FileStore: the data reaches the
 * disk before the rename makes it the file, the rename itself is made
 * durable by syncing the folder, and each write has a temp file of its own.
 * The FileHandle prototype is spied on, so removing any of these fails here.
 */
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { AtomicJsonFile } from '../../stores/atomic-file.js'
import { FileStore } from '../../stores/file.js'
import { fullSession } from './contract.js'

type SyncMethod = 'datasync' | 'sync'

interface SyncCall {
  method: SyncMethod
  directory: boolean
  ino: number
  /** The inode at the data file's path when the call was made; null while there is no file. */
  fileInoThen: number | null
}

let root: string
let count = 0
let prototype: Record<SyncMethod, () => Promise<void>>

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'countersign-durability-'))
  const probe = await open(process.execPath, 'r')
  prototype = Object.getPrototypeOf(probe) as typeof prototype
  await probe.close()
})
afterEach(() => {
  vi.restoreAllMocks()
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

async function freshPath(): Promise<string> {
  const dir = join(root, `case-${++count}`)
  await mkdir(dir)
  return join(dir, 'data.json')
}

const inoAt = async (path: string) => (await stat(path).catch(() => null))?.ino ?? null

/** Records every fsync of a file handle, with what the handle is and what the data file's path held at that moment. */
function spyOnSyncs(path: string, before: (call: SyncCall) => Promise<void> = async () => {}): SyncCall[] {
  const calls: SyncCall[] = []
  for (const method of ['datasync', 'sync'] as const) {
    const original = prototype[method]
    vi.spyOn(prototype, method).mockImplementation(async function (this: { stat(): Promise<{ ino: number; isDirectory(): boolean }> }) {
      const info = await this.stat()
      const call: SyncCall = { method, directory: info.isDirectory(), ino: info.ino, fileInoThen: await inoAt(path) }
      calls.push(call)
      await before(call)
      return original.call(this)
    })
  }
  return calls
}

/** The file's own data was synced while it was still a temp file, and the folder was synced once it held the new file. */
async function expectDurable(path: string, calls: SyncCall[]): Promise<void> {
  const written = (await stat(path)).ino
  const folder = (await stat(join(path, '..'))).ino
  const fileSync = calls.find((call) => !call.directory && call.ino === written)
  expect(fileSync, 'the written file was fsynced').toBeDefined()
  expect(fileSync!.fileInoThen, 'the fsync came before the rename').not.toBe(written)
  const folderSync = calls.find((call) => call.directory && call.ino === folder && call.fileInoThen === written)
  expect(folderSync, 'the folder was fsynced after the rename').toMatchObject({ method: 'sync' })
}

describe('atomic writes: fsync of the file and its folder', () => {
  it('AtomicJsonFile syncs the data before the rename and the folder after it', async () => {
    const path = await freshPath()
    const calls = spyOnSyncs(path)
    await new AtomicJsonFile<{ n: number }>(path).write({ n: 1 })
    await expectDurable(path, calls)
  })

  it('FileStore.save() and clear() sync each file they write and the folder', async () => {
    const path = await freshPath()
    const store = new FileStore(path)
    try {
      await store.open()
      let calls = spyOnSyncs(path)
      await store.save(fullSession)
      await expectDurable(path, calls)
      vi.restoreAllMocks()
      calls = spyOnSyncs(path)
      await store.clear()
      await expectDurable(path, calls)
    } finally {
      await store.close()
    }
  })
})

describe('atomic writes: a temp file of its own for each write', () => {
  it('gives two concurrent writers on one path (no lock between them) different temp names, and leaves lowdb’s fixed temp name alone', async () => {
    const path = await freshPath()
    const dir = join(path, '..')
    const lowdbTemp = join(dir, '.data.json.tmp')
    await writeFile(lowdbTemp, 'lowdb was here')
    let seenWhileBothWrote: string[] = []
    let release!: () => void
    const bothWritten = new Promise<void>((resolve) => (release = resolve))
    let fileSyncs = 0
    spyOnSyncs(path, async (call) => {
      if (call.directory) return
      // Each writer stops at its fsync until both temp files exist side by side.
      if (++fileSyncs === 2) {
        seenWhileBothWrote = (await readdir(dir)).filter((name) => name !== '.data.json.tmp' && name.endsWith('.tmp'))
        release()
      }
      await bothWritten
    })

    const first = new AtomicJsonFile<{ writer: string }>(path)
    const second = new AtomicJsonFile<{ writer: string }>(path)
    await Promise.all([first.write({ writer: 'first' }), second.write({ writer: 'second' })])

    expect(seenWhileBothWrote).toHaveLength(2)
    expect(new Set(seenWhileBothWrote).size).toBe(2)
    for (const name of seenWhileBothWrote) expect(name).toMatch(new RegExp(`^\\.data\\.json\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`))
    expect(['first', 'second']).toContain((JSON.parse(await readFile(path, 'utf8')) as { writer: string }).writer)
    expect(await readFile(lowdbTemp, 'utf8')).toBe('lowdb was here')
    expect((await readdir(dir)).sort()).toEqual(['.data.json.tmp', 'data.json'])
  })
})
