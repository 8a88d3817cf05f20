/**
 * `countersign demo` when it cannot start as it is: each failure one line on
 * stderr naming what was wrong and what to do, with its documented exit
 * code; following the advice gets the demo running. A corrupt session file
 * of the agent is no failure: it is set aside and the agent starts over.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CLI, runCli, startChild, type Child } from '../support/process.js'
import { TestOwner } from '../support/server.js'
import { closedPort } from './helpers.js'

describe('countersign demo failing to start', () => {
  let cwd: string
  let data: string
  /** A first port of this file's: never 4000, which another test or a person's demo may hold. */
  let env: NodeJS.ProcessEnv
  const running: Child[] = []

  beforeEach(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'countersign-demo-fail-'))
    data = join(cwd, '.countersign')
    env = { COUNTERSIGN_DEMO_FIRST_PORT: String(await closedPort()) }
  })
  afterEach(async () => {
    for (const child of running.splice(0)) if (child.process.exitCode === null) child.process.kill('SIGKILL')
    await rm(cwd, { recursive: true, force: true })
  })

  const demo = (args: string[] = []) => runCli(['demo', ...args], { cwd, env })

  /** Starts the demo in JSON mode and returns its first event of `type`. */
  async function startedDemo(type: string): Promise<{ child: Child; event: any }> {
    const child = startChild(process.execPath, [CLI, '--json', 'demo'], { cwd, env })
    running.push(child)
    const [line] = await child.waitForLine(new RegExp(`^\\{"type":"${type}".*\\}$`))
    return { child, event: JSON.parse(line) }
  }

  async function stopped(child: Child): Promise<void> {
    child.process.kill('SIGINT')
    expect(await child.exited).toEqual({ code: 0, signal: null })
  }

  it('refuses a malformed COUNTERSIGN_DEMO_FIRST_PORT as a usage error (exit 2) before it writes anything', async () => {
    const result = await runCli(['demo'], { cwd, env: { COUNTERSIGN_DEMO_FIRST_PORT: '40o0' } })
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'countersign: COUNTERSIGN_DEMO_FIRST_PORT must be a whole number from 1 to 65535 (got "40o0")\n' })
    const json = await runCli(['--json', 'demo'], { cwd, env: { COUNTERSIGN_DEMO_FIRST_PORT: '40o0' } })
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toEqual({ type: 'error', code: 'usage', message: 'COUNTERSIGN_DEMO_FIRST_PORT must be a whole number from 1 to 65535 (got "40o0")', exitCode: 2 })
    expect(await readdir(cwd)).toEqual([])
  })

  it('refuses an empty --name as a usage error (exit 2) before it writes anything', async () => {
    const message = '--name must not be empty (run "countersign demo --help" for usage)'
    expect(await demo(['--name', ' '])).toEqual({ code: 2, stdout: '', stderr: `countersign: ${message}\n` })
    const json = await runCli(['--json', 'demo', '--name', ''], { cwd, env })
    expect(json).toEqual({ code: 2, stdout: `${JSON.stringify({ type: 'error', code: 'usage', message, exitCode: 2 })}\n`, stderr: `countersign: ${message}\n` })
    expect(await readdir(cwd)).toEqual([])
  })

  it('exits 1 with one line when the --port it is told to use is taken by another program, in text and JSON', async () => {
    const squatter: Server = createServer()
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve))
    const { port } = squatter.address() as { port: number }
    try {
      const message = `port ${port} on 127.0.0.1 is in use by another program (EADDRINUSE): choose another --port, or leave --port out and the demo finds a free one`
      expect(await demo(['--port', String(port)])).toEqual({ code: 1, stdout: '', stderr: `countersign: ${message}\n` })
      const json = await runCli(['--json', 'demo', '--port', String(port)], { cwd, env })
      expect(json.code).toBe(1)
      expect(JSON.parse(json.stdout)).toEqual({ type: 'error', code: 'error', message, exitCode: 1 })
    } finally {
      await new Promise((resolve) => squatter.close(resolve))
    }
  })

  it('exits 6 naming a corrupt demo.json and saying to delete the folder; done, the demo starts over', async () => {
    await mkdir(data)
    await writeFile(join(data, 'demo.json'), '{"format":"countersign-demo","owner":')
    const result = await demo()
    expect(result).toEqual({
      code: 6,
      stdout: '',
      stderr: `countersign: the file ${join(data, 'demo.json')} is corrupt and was not used: delete the folder ${data} to start the demo over (a new owner password, and the agent registers again)\n`,
    })
    await rm(data, { recursive: true })
    const { child, event } = await startedDemo('owner')
    expect(event).toMatchObject({ created: true })
    await stopped(child)
  })

  it("exits 6 naming a corrupt server.json and saying to delete it; done, the owner of demo.json signs in again", async () => {
    const first = await startedDemo('owner')
    const { email, password } = first.event
    await stopped(first.child)
    await writeFile(join(data, 'server.json'), 'not json')
    const result = await demo()
    expect(result).toEqual({
      code: 6,
      stdout: '',
      stderr: `countersign: the file ${join(data, 'server.json')} is corrupt and was not used: delete it to start the server's data over (the owner is created again from demo.json, and the agent registers again)\n`,
    })
    await rm(join(data, 'server.json'))
    const { child, event } = await startedDemo('server')
    await TestOwner.create(event.url, email, password)
    await stopped(child)
  })

  it('exits 1 when demo.json was removed but the server data kept, whose owner has the old password, saying to delete the folder; again on the next run, saving no password', async () => {
    const first = await startedDemo('owner')
    await stopped(first.child)
    await rm(join(data, 'demo.json'))
    const refused = {
      code: 1,
      stdout: '',
      stderr: `countersign: ${join(data, 'server.json')} holds the owner owner@countersign.localhost with another password than the new one made for ${join(data, 'demo.json')} (was demo.json removed?): delete the folder ${data} to start the demo over\n`,
    }
    expect(await demo()).toEqual(refused)
    expect(await readdir(data)).not.toContain('demo.json')
    // The second run must not take a password saved by the first for one that signs in.
    expect(await demo()).toEqual(refused)
    expect(await readdir(data)).not.toContain('demo.json')
    await rm(data, { recursive: true })
    const { child, event } = await startedDemo('server')
    const [line] = await child.waitForLine(/^\{"type":"owner".*\}$/)
    const owner = JSON.parse(line)
    await TestOwner.create(event.url, owner.email, owner.password)
    await stopped(child)
  })

  it("sets a corrupt session file of the agent aside with a warning naming both paths, and the agent registers again", async () => {
    await mkdir(data)
    await writeFile(join(data, 'agent.json'), '{"session":')
    const { child } = await startedDemo('approvalStarted')
    await stopped(child)
    const [aside] = (await readdir(data)).filter((name) => name.startsWith('agent.json.corrupt-'))
    expect(aside).toBeDefined()
    expect(child.stderr()).toBe(`countersign: warning: the file ${join(data, 'agent.json')} is corrupt and was not used (kept at ${join(data, aside!)}); the agent starts over\n`)
  })
})
