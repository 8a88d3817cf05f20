/**
 * The command line as a whole: help on every command, the default store,
 * options after the command, and errors as one line (the stack only with
 * --verbose).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/process.js'

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

  it('reports an unknown command as a usage error (exit code 2)', async () => {
    const result = await runCli(['frobnicate'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("error: unknown command 'frobnicate'")
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
