/**
 * The runnable example of the README's "The agent runtime" section, taken
 * from the README as it stands: type-checked with the project's compiler
 * settings, then run as its reader would run it (its own folder, `node
 * --import tsx`) against the reference server, approved by an owner, and run
 * again to find the session saved.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, startChild, type Child } from '../support/process.js'
import { startTestServer, TestOwner, type TestServer } from '../support/server.js'
import { README } from './readme-blocks.js'

const SECTION = 'The agent runtime'

/** The first ```ts block of a `##` section. */
function exampleOf(markdown: string, section: string): string {
  const start = markdown.indexOf(`\n## ${section}\n`)
  if (start < 0) throw new Error(`README.md has no "## ${section}" section`)
  const rest = markdown.slice(start + 1)
  const end = rest.indexOf('\n## ', 1)
  const body = end < 0 ? rest : rest.slice(0, end)
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(body)
  if (block === null) throw new Error(`the "${section}" section of README.md has no \`\`\`ts block`)
  return block[1]!
}

describe(`README.md: the example of "${SECTION}"`, () => {
  let dir: string
  let file: string
  let server: TestServer
  let owner: TestOwner
  const children: Child[] = []

  beforeAll(async () => {
    // A folder of its own, as a reader's project: the example's relative store path lands here, not in the repository.
    dir = await mkdtemp(join(tmpdir(), 'countersign-readme-'))
    file = join(dir, 'agent.ts')
    await writeFile(file, exampleOf(await readFile(README, 'utf8'), SECTION))
    // The project's settings, `countersign` mapped to the sources as in the examples.
    const tsconfig = {
      extends: join(REPO_ROOT, 'tsconfig.json'),
      compilerOptions: { rootDir: '/', typeRoots: [join(REPO_ROOT, 'node_modules/@types')] },
      include: ['agent.ts'],
    }
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig))
    // ESM, like this package: the example awaits at the top level.
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }))
    server = await startTestServer()
    owner = await TestOwner.create(server.url)
  })

  afterAll(async () => {
    for (const child of children) child.process.kill('SIGKILL')
    await Promise.all(children.map((child) => child.exited))
    await server?.dispose()
    await rm(dir, { recursive: true, force: true })
  })

  it('type-checks with the project’s compiler settings', () => {
    const config = ts.getParsedCommandLineOfConfigFile(join(dir, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!
    expect(config.fileNames).toEqual([file])
    const program = ts.createProgram({ rootNames: config.fileNames, options: config.options })
    const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))
    expect(diagnostics).toEqual([])
  }, 60_000)

  it('registers, waits for the approval it printed, prints the agent, and the next run starts signed in', async () => {
    const run = () => {
      const child = startChild(process.execPath, ['--import', pathToFileURL(join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href, 'agent.ts'], {
        cwd: dir,
        env: { COUNTERSIGN_SERVER: server.url, TSX_TSCONFIG_PATH: join(dir, 'tsconfig.json') },
      })
      children.push(child)
      return child
    }

    const first = run()
    const [, approvalUrl, userCode] = await first.waitForLine(/^Approve at (\S+) \(code (\S+)\)$/)
    expect(approvalUrl).toBe(`${server.url}/device?user_code=${userCode}`)
    await owner.approve(userCode!)
    expect(await first.exited).toEqual({ code: 0, signal: null })
    expect(first.stderr()).toBe('')
    expect(first.stdout()).toMatch(/^event: approvalStarted$/m)
    expect(first.stdout()).toMatch(/^\.*event: authenticated$/m)
    const agentId = /agent_id: '(agt_[\w-]+)'/.exec(first.stdout())?.[1]
    expect(agentId, first.stdout()).toBeDefined()
    expect(first.stdout()).toContain(`name: 'My Agent'`)

    const second = run()
    expect(await second.exited).toEqual({ code: 0, signal: null })
    expect(second.stdout()).not.toContain('Approve at')
    expect(second.stdout()).toContain(`agent_id: '${agentId}'`)
    expect(second.stderr()).toBe('')
  }, 60_000)
})
