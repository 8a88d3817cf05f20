import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CountersignError } from '../../src/errors.js'
import { createServer } from '../../src/server/index.js'
import { startChild } from '../support/process.js'

const HANGING_SERVER = fileURLToPath(new URL('./fixtures/hanging-server.ts', import.meta.url))
const temps = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith('.tmp')).sort()

describe('the server data file', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-db-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('is held by one server at a time: a second server on it fails with file_locked naming the file', async () => {
    const dataFile = join(dir, 'server.json')
    const first = await createServer({ port: 0, dataFile })
    const second = createServer({ port: 0, dataFile })
    await expect(second).rejects.toBeInstanceOf(CountersignError)
    await expect(second).rejects.toMatchObject({ code: 'file_locked', message: expect.stringContaining(dataFile) })
    await first.close()

    const third = await createServer({ port: 0, dataFile })
    await third.close()
  })

  it('is released when the server fails to listen', async () => {
    const dataFile = join(dir, 'server.json')
    const first = await createServer({ port: 0 })
    const port = Number(new URL(first.url).port)
    await expect(createServer({ port, dataFile })).rejects.toMatchObject({ code: 'EADDRINUSE' })
    await first.close()
    const again = await createServer({ port: 0, dataFile })
    await again.close()
  })

  it('removes at start the temp file a server killed between writing and renaming left behind, with the signing key in it', async () => {
    const dataFile = join(dir, 'server.json')
    const child = startChild(process.execPath, ['--import', 'tsx', HANGING_SERVER, dataFile])
    await child.waitForLine(/^hanging$/)
    child.process.kill('SIGKILL')
    await child.exited
    const leftover = await temps(dir)
    expect(leftover).toEqual([expect.stringMatching(new RegExp(`^\\.server\\.json\\.${child.process.pid}\\.[0-9a-f]{12}\\.tmp$`))])
    const held = await readFile(join(dir, leftover[0]!), 'utf8')
    expect(held).toContain('unrenamed@example.test')
    expect(held).toContain(JSON.parse(await readFile(dataFile, 'utf8')).signingKeys[0].privateJwk.d)

    const server = await createServer({ port: 0, dataFile })
    expect(await temps(dir)).toEqual([])
    await server.close()
    expect(await readFile(dataFile, 'utf8')).not.toContain('unrenamed@example.test')
  })

  it('keeps at start the temp files a live writer may still rename, other files’ temps and lowdb’s fixed temp name; removes a live pid’s only when old', async () => {
    const dataFile = join(dir, 'server.json')
    const recent = `.server.json.${process.pid}.0123456789ab.tmp`
    const old = `.server.json.${process.pid}.ba9876543210.tmp`
    const untouched = [recent, '.server.json.tmp', '.other.json.999999999.0123456789ab.tmp']
    for (const name of [...untouched, old]) await writeFile(join(dir, name), 'secret')
    const hourAgo = new Date(Date.now() - 3600_000)
    await utimes(join(dir, old), hourAgo, hourAgo)

    const server = await createServer({ port: 0, dataFile })
    await server.close()

    expect(await temps(dir)).toEqual([...untouched].sort())
  })
})
