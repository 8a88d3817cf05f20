/**
 * The package as a user installs it: `npm pack`, installed into a fresh
 * project beside TypeScript, type-checks under `strict` with
 * `skipLibCheck: false` through every subpath export, imports at run time,
 * and `npx countersign --help` runs.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

const CONSUMER = `import { AuthManager, LiveSocket, MemoryStore, type Session } from 'countersign'
import { createServer, verifyAccessToken } from 'countersign/server'
import { FileStore } from 'countersign/stores/file'
import { MemoryStore as Memory } from 'countersign/stores/memory'

const auth = new AuthManager('http://127.0.0.1:4000', new MemoryStore())
const provider: () => Promise<string> = auth.tokenProvider
const watch = (session: Session): string => session.state
export { provider, watch, createServer, verifyAccessToken, FileStore, Memory, LiveSocket }
`

describe('the packed package, installed into a fresh project', () => {
  let dir: string
  let project: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-package-'))
    project = join(dir, 'consumer')
    // dist/ is built by pretest; the tarball is what npm publishes.
    const { stdout } = await run(npm, ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: root })
    const tarball = join(dir, stdout.trim().split('\n').at(-1)!)
    const versions = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).devDependencies as Record<string, string>
    await run('mkdir', ['-p', project])
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }))
    await run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', tarball, `typescript@${versions.typescript}`, `@types/node@${versions['@types/node']}`], { cwd: project })
    await writeFile(join(project, 'index.ts'), CONSUMER)
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, skipLibCheck: false, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: ['node'] }, files: ['index.ts'] }),
    )
  }, 180_000)
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('type-checks under strict with skipLibCheck off', async () => {
    const checked = await run(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', project]).catch((error: { stdout: string }) => error)
    expect('stdout' in checked ? checked.stdout : '').toBe('')
  }, 60_000)

  it('resolves every subpath export at run time', async () => {
    const script = "const m = await import('countersign'); const s = await import('countersign/server'); const f = await import('countersign/stores/file'); console.log(typeof m.AuthManager, typeof s.createServer, typeof f.FileStore)"
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project })
    expect(stdout.trim()).toBe('function function function')
  })

  it('runs npx countersign --help', async () => {
    const { stdout } = await run('npx', ['--no-install', 'countersign', '--help'], { cwd: project })
    expect(stdout).toMatch(/^Usage: countersign \[options\] \[command\]/)
    expect(stdout).toContain('serve')
  })
})
