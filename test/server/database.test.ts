import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CountersignError } from '../../src/errors.js'
import { createServer } from '../../src/server/index.js'

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
})
