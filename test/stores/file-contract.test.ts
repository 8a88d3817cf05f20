import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { FileStore } from '../../stores/file.js'
import { describeSessionStoreContract } from './contract.js'

let dir: string
let count = 0
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'countersign-file-contract-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describeSessionStoreContract('FileStore', {
  create: async ({ now }) => new FileStore(join(dir, `session-${++count}.json`), { now }),
  persistence: {
    keeps: 'record',
    reopen: async (closed, { now }) => new FileStore((closed as FileStore).path, { now }),
  },
})
