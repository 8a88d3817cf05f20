import { readFileSync, watch } from 'node:fs'
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AtomicJsonFile } from '../../stores/atomic-file.js'
import { CorruptFileError } from '../../src/errors.js'

interface Doc {
  n: number
}
const isDoc = (value: unknown): value is Doc => typeof value === 'object' && value !== null && typeof (value as Doc).n === 'number'

describe('AtomicJsonFile', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-atomic-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reads null for a missing file and writes mode 0600 into a new folder', async () => {
    const path = join(dir, 'nested', 'doc.json')
    const file = new AtomicJsonFile<Doc>(path)
    expect(await file.read()).toBeNull()
    await file.write({ n: 1 })
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await stat(join(dir, 'nested'))).mode & 0o777).toBe(0o700)
    expect(await file.read()).toEqual({ n: 1 })
  })

  it('folds concurrent writes: every caller resolves, the newest data wins, no temp file is left', async () => {
    const path = join(dir, 'doc.json')
    const file = new AtomicJsonFile<Doc>(path)
    await Promise.all(Array.from({ length: 50 }, (_, i) => file.write({ n: i })))
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ n: 49 })
    expect(await readdir(dir)).toEqual(['doc.json'])
  })

  it('reports a file that does not parse as CorruptFileError naming it, and leaves it unchanged', async () => {
    const path = join(dir, 'doc.json')
    await writeFile(path, '{"n": ')
    const file = new AtomicJsonFile<Doc>(path)
    const error = await file.read().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CorruptFileError)
    expect(error).toMatchObject({ code: 'corrupt_file', path })
    expect((error as Error).message).toContain(path)
    expect(await readFile(path, 'utf8')).toBe('{"n": ')
  })

  it('reports data of the wrong shape as corrupt', async () => {
    const path = join(dir, 'doc.json')
    await writeFile(path, '{"m": 1}')
    await expect(new AtomicJsonFile<Doc>(path, { validate: isDoc }).read()).rejects.toMatchObject({ code: 'corrupt_file' })
  })

  it('keeps writing when its folder is removed between writes', async () => {
    const folder = join(dir, 'sub')
    const path = join(folder, 'doc.json')
    const file = new AtomicJsonFile<Doc>(path)
    await file.write({ n: 1 })
    await rm(folder, { recursive: true })
    await file.write({ n: 2 })
    expect(await file.read()).toEqual({ n: 2 })
  })

  it('rejects a write that cannot happen and leaves no temp file behind', async () => {
    const path = join(dir, 'doc.json')
    const file = new AtomicJsonFile<Doc>(path)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await expect(file.write(cyclic as unknown as Doc)).rejects.toThrow(TypeError)
    expect(await readdir(dir)).toEqual([])
  })
})

// The reference server's data file goes through this adapter (src/server/database.ts).
describe('AtomicJsonFile as the server data file: a temp file of its own, synced before the rename', () => {
  let dir: string
  let path: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-atomic-server-'))
    path = join(dir, 'server.json')
  })
  afterEach(async () => {
    vi.restoreAllMocks()
    await rm(dir, { recursive: true, force: true })
  })

  it("leaves lowdb's fixed temp name, <dir>/.<name>.tmp, untouched when it is there already", async () => {
    const lowdbTemp = join(dir, '.server.json.tmp')
    await writeFile(lowdbTemp, 'held by another writer', { mode: 0o644 })
    const file = new AtomicJsonFile<Doc>(path)
    await file.write({ n: 1 })
    await file.write({ n: 2 })
    expect(await readFile(lowdbTemp, 'utf8')).toBe('held by another writer')
    expect((await stat(lowdbTemp)).mode & 0o777).toBe(0o644)
    expect(await file.read()).toEqual({ n: 2 })
    expect((await readdir(dir)).sort()).toEqual(['.server.json.tmp', 'server.json'])
  })

  it('gives two writers of one path a temp file each, for every write, and leaves a whole file', async () => {
    const created: string[] = []
    const watcher = watch(dir, (_event, name) => {
      if (name && name.endsWith('.tmp') && !created.includes(name)) created.push(name)
    })
    try {
      const first = new AtomicJsonFile<Doc>(path)
      const second = new AtomicJsonFile<Doc>(path)
      const writes = 10
      await Promise.all([
        (async () => {
          for (let i = 0; i < writes; i++) await first.write({ n: i })
        })(),
        (async () => {
          for (let i = 0; i < writes; i++) await second.write({ n: 100 + i })
        })(),
      ])
      // The watcher hears of each file a moment after it was made.
      for (let waited = 0; created.length < 2 * writes && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
      expect(created).toHaveLength(2 * writes)
      for (const name of created) expect(name).toMatch(/^\.server\.json\.\d+\.[0-9a-f]{12}\.tmp$/)
      expect([{ n: writes - 1 }, { n: 100 + writes - 1 }]).toContainEqual(JSON.parse(await readFile(path, 'utf8')))
      expect(await readdir(dir)).toEqual(['server.json'])
    } finally {
      watcher.close()
    }
  })

  it('syncs the temp file before renaming it over the data file, then syncs the folder', async () => {
    const file = new AtomicJsonFile<Doc>(path)
    await file.write({ n: 1 })
    const probe = await open(path, 'r')
    const handlePrototype = Object.getPrototypeOf(probe) as FileHandle
    await probe.close()
    // What the data file holds at each sync: the old data while the new data is synced, the new data once the folder is.
    const seenAt: Array<[string, unknown]> = []
    const { datasync, sync } = handlePrototype
    vi.spyOn(handlePrototype, 'datasync').mockImplementation(function (this: FileHandle) {
      seenAt.push(['datasync', JSON.parse(readFileSync(path, 'utf8'))])
      return datasync.call(this)
    })
    vi.spyOn(handlePrototype, 'sync').mockImplementation(function (this: FileHandle) {
      seenAt.push(['sync', JSON.parse(readFileSync(path, 'utf8'))])
      return sync.call(this)
    })
    await file.write({ n: 2 })
    expect(seenAt).toEqual([
      ['datasync', { n: 1 }],
      ['sync', { n: 2 }],
    ])
  })
})
