import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../support/process.js'

const typedocBin = join(createRequire(import.meta.url).resolve('typedoc/package.json'), '..', 'bin', 'typedoc')

function runTypedoc(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [typedocBin, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, output }))
  })
}

describe('the API reference (npm run docs)', () => {
  it('documents the three public entry points into docs/api, with warnings treated as errors', async () => {
    const config = JSON.parse(await readFile(join(REPO_ROOT, 'typedoc.json'), 'utf8')) as Record<string, unknown>
    expect(config.entryPoints).toEqual(['src/index.ts', 'src/server/index.ts', 'stores/index.ts'])
    expect(config.out).toBe('docs/api')
    expect(config.treatWarningsAsErrors).toBe(true)
    expect(config.validation).toMatchObject({ notExported: true, invalidLink: true, notDocumented: true })
    const packageJson = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    expect(packageJson.scripts.docs).toBe('typedoc')
  })

  // Every exported class, function, interface, type, method and accessor has a doc comment, and every type a public signature names is exported.
  it('builds with no warning and no error', { timeout: 180_000 }, async () => {
    const { code, output } = await runTypedoc(['--emit', 'none'])
    expect(output).not.toMatch(/\[warning\]|\[error\]/)
    expect(code).toBe(0)
  })
})
