import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
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
