/**
 * The command line as a whole: help on every command, the default store,
 * options after the command, and errors as one line (the stack only with
 * --verbose).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, runCli, startChild } from '../support/process.js'

const COMMANDS = ['serve', 'register', 'login', 'status', 'token', 'revoke', 'watch', 'demo']

describe('the countersign command line', () => {
  let home: string

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'countersign-home-'))
  })
  afterAll(async () => {
    await rm(home, { recursive: true, force: true })
  })

  it('lists every command in --help', async () => {
    const result = await runCli(['--help'])
    expect(result.code).toBe(0)
    for (const command of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^ +${command}\\b`, 'm'))
    expect(result.stdout).toContain('--json')
    expect(result.stdout).toContain('--verbose')
  })

  it.each(COMMANDS)('answers %s --help with its usage and exit code 0', async (command) => {
    const result = await runCli([command, '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`^Usage: countersign ${command} \\[options\\]`))
    if (!['serve', 'demo'].includes(command)) expect(result.stdout).toContain('--store <path>')
  })

  it('uses the data directory of the OS when --store is not given, and takes --json after the command', async () => {
    const result = await runCli(['status', '--json'], { env: { XDG_DATA_HOME: join(home, 'data'), HOME: home } })
    expect(result.code).toBe(3)
    expect(JSON.parse(result.stdout.split('\n')[0]!)).toMatchObject({ type: 'status', state: 'signedOut', store: join(home, 'data', 'countersign', 'session.json') })
  })

  it('reports an unknown command as a usage error (exit code 2) in one line', async () => {
    const result = await runCli(['frobnicate'])
    expect(result).toEqual({ code: 2, stdout: '', stderr: `countersign: unknown command 'frobnicate' (run "countersign --help" for usage)\n` })
  })

  it('does not repeat a --server value that carries credentials', async () => {
    const result = await runCli(['register', '--server', 'http://agent:hunter2-secret@127.0.0.1:9', '--name', 'x'])
    expect(result).toEqual({ code: 2, stdout: '', stderr: `countersign: --server must not carry credentials (user:password@) (run "countersign register --help" for usage)\n` })
  })

  it("reports a command's usage error in one line naming that command's help", async () => {
    expect(await runCli(['status', '--bogus'])).toEqual({ code: 2, stdout: '', stderr: `countersign: unknown option '--bogus' (run "countersign status --help" for usage)\n` })
    // The parser's own message names the option and the value; commander's prefix repeating them is dropped.
    expect(await runCli(['demo', '--access-ttl', 'soon'])).toEqual({
      code: 2,
      stdout: '',
      stderr: `countersign: --access-ttl must be a positive number of seconds (got "soon") (run "countersign demo --help" for usage)\n`,
    })
  })

  it.each([
    [['--json', 'status', '--bogus'], `unknown option '--bogus' (run "countersign status --help" for usage)`],
    [['status', '--bogus', '--json'], `unknown option '--bogus' (run "countersign status --help" for usage)`],
    [['--json', 'frobnicate'], `unknown command 'frobnicate' (run "countersign --help" for usage)`],
    [['--json', 'register', '--server', 'http://127.0.0.1:9'], `required option '--name <name>' not specified (run "countersign register --help" for usage)`],
    // Values the runtime or the server would refuse as bad arguments are refused as usage errors, before anything is sent.
    [['--json', 'register', '--server', 'http://127.0.0.1:9/?tenant=a', '--name', 'x'], `--server must have no query or fragment (got "http://127.0.0.1:9/?tenant=a") (run "countersign register --help" for usage)`],
    [['--json', 'register', '--server', 'http://127.0.0.1:9', '--name', ' '], `--name must not be empty (run "countersign register --help" for usage)`],
    [['--json', 'register', '--server', 'http://127.0.0.1:9', '--name', 'x', '--scope', 'agent  agent:read'], `--scope must be scope names separated by single spaces (got "agent  agent:read") (run "countersign register --help" for usage)`],
    [['--json', 'login', '--server', 'http://127.0.0.1:9', '--agent-id', ''], `--agent-id must not be empty (run "countersign login --help" for usage)`],
    [['--json', 'serve', '--host', ''], `--host must not be empty (run "countersign serve --help" for usage)`],
  ])('with --json prints a usage error as an error line on stdout too: %j', async (args, message) => {
    const result = await runCli(args)
    expect(result).toEqual({ code: 2, stdout: `${JSON.stringify({ type: 'error', code: 'usage', message, exitCode: 2 })}\n`, stderr: `countersign: ${message}\n` })
  })

  it('without a command prints the help on stderr and exits 2; with --json also an error line', async () => {
    const text = await runCli([])
    expect(text.code).toBe(2)
    expect(text.stdout).toBe('')
    expect(text.stderr).toMatch(/^Usage: countersign \[options\] \[command\]\n[\s\S]*\ncountersign: no command given \(run "countersign --help" for usage\)\n$/)
    const json = await runCli(['--json'])
    expect(json.code).toBe(2)
    expect(json.stdout).toBe(`${JSON.stringify({ type: 'error', code: 'usage', message: 'no command given (run "countersign --help" for usage)', exitCode: 2 })}\n`)
  })

  it('reports an error no command caught as any other: one line, the stack with --verbose, a JSON line with --json', async () => {
    // The CLI started in a folder that is gone by then: resolving a relative --store fails before the command's own handling.
    const inRemovedFolder = async (args: string[]) => {
      const folder = join(home, `removed-${Math.random().toString(36).slice(2)}`)
      await mkdir(folder)
      const child = startChild('sh', ['-c', 'cd "$1" && rmdir "$1" && shift && exec "$@"', 'sh', folder, process.execPath, CLI, ...args])
      const { code } = await child.exited
      return { code, stdout: child.stdout(), stderr: child.stderr() }
    }
    const message = 'ENOENT: no such file or directory, uv_cwd'
    expect(await inRemovedFolder(['status', '--store', 'relative.json'])).toEqual({ code: 1, stdout: '', stderr: `countersign: ${message}\n` })
    const verbose = await inRemovedFolder(['--verbose', 'status', '--store', 'relative.json'])
    expect(verbose.code).toBe(1)
    expect(verbose.stderr).toMatch(new RegExp(`^countersign: ${message}\\nError: ${message}\\n {4}at `))
    const json = await inRemovedFolder(['status', '--json', '--store', 'relative.json'])
    expect(json).toEqual({ code: 1, stdout: `${JSON.stringify({ type: 'error', code: 'error', message, exitCode: 1 })}\n`, stderr: `countersign: ${message}\n` })
  })

  it('prints one line per error, and the stack only with --verbose', async () => {
    const store = join(home, 'none.json')
    const plain = await runCli(['token', '--store', store])
    expect(plain.code).toBe(3)
    expect(plain.stderr.trim().split('\n')).toHaveLength(1)
    const verbose = await runCli(['--verbose', 'token', '--store', store])
    expect(verbose.code).toBe(3)
    expect(verbose.stderr.split('\n')[0]).toBe(plain.stderr.trim())
    expect(verbose.stderr).toMatch(/\n {4}at /)
  })
})
