import { mkdtemp, rm, stat, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CLI, runCli, startChild, type Child } from '../support/process.js'

describe('countersign serve', () => {
  let dir: string
  let child: Child | undefined

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-serve-'))
  })
  afterEach(async () => {
    if (child && child.process.exitCode === null) child.process.kill('SIGKILL')
    child = undefined
    await rm(dir, { recursive: true, force: true })
  })

  it('prints the listening line first, serves discovery, and stops cleanly on SIGINT', async () => {
    const dataFile = join(dir, 'server.json')
    child = startChild(process.execPath, [CLI, 'serve', '--port', '0', '--data', dataFile, '--interval', '2', '--owner', 'admin@example.test:long-password'])
    const [, url] = await child.waitForLine(/^countersign server listening on (http:\/\/127\.0\.0\.1:\d+)$/)
    expect(child.stdout().split('\n')[0]).toBe(`countersign server listening on ${url}`)
    expect(child.stdout()).not.toContain('long-password')

    const metadata = await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json()
    expect(metadata.issuer).toBe(url)
    const started = await fetch(`${url}/oauth/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'countersign-agent', agent_name: 'CLI Bot' }),
    })
    expect((await started.json()).interval).toBe(2)

    child.process.kill('SIGINT')
    expect(await child.exited).toEqual({ code: 0, signal: null })
    expect(child.stdout()).toMatch(/countersign server stopped \(SIGINT\)/)
    expect((await stat(dataFile)).mode & 0o777).toBe(0o600)
    const data = JSON.parse(await readFile(dataFile, 'utf8'))
    expect(data.owners.map((owner: { email: string }) => owner.email)).toEqual(['admin@example.test'])
  })

  it('prints a JSON line with --json', async () => {
    child = startChild(process.execPath, [CLI, '--json', 'serve', '--port', '0', '--data', join(dir, 'server.json')])
    const [line] = await child.waitForLine(/^\{.*\}$/)
    expect(JSON.parse(line)).toMatchObject({ type: 'listening', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) })
    child.process.kill('SIGTERM')
    expect(await child.exited).toEqual({ code: 0, signal: null })
    expect(child.stdout()).toContain('{"type":"stopped","signal":"SIGTERM"}')
  })

  it('refuses a bad flag value with exit code 2 and a message naming the flag', async () => {
    const result = await runCli(['serve', '--access-ttl', 'soon'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--access-ttl must be a positive number of seconds (got "soon")')
  })

  it('refuses a --trust-proxy value that is not a list of addresses with exit code 2, naming the flag and the entry', async () => {
    const result = await runCli(['serve', '--trust-proxy', '127.0.0.1,proxy.internal'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--trust-proxy must list IP addresses or CIDR ranges (e.g. 127.0.0.1 or 10.0.0.0/8); it has "proxy.internal", which is not an IP address or CIDR range')
  })

  it('does not repeat a malformed --owner value, which holds a password', async () => {
    const result = await runCli(['serve', '--owner', 'no-colon-secret'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--owner must be EMAIL:PASSWORD')
    expect(result.stderr).not.toContain('no-colon-secret')
  })

  it('stops at start with exit code 6 and names the file when the data file is corrupt, leaving it as it was', async () => {
    const dataFile = join(dir, 'server.json')
    await writeFile(dataFile, '{"schemaVersion": 1, "owners": [', { mode: 0o600 })
    const result = await runCli(['serve', '--port', '0', '--data', dataFile])
    expect(result.code).toBe(6)
    expect(result.stderr).toContain(dataFile)
    expect(result.stderr).toContain('corrupt')
    expect(await readFile(dataFile, 'utf8')).toBe('{"schemaVersion": 1, "owners": [')
  })
})
