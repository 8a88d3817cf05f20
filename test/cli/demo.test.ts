/**
 * `countersign demo` (what `npm start` runs) driven as a person would: in a
 * real terminal (tmux), reading the approval URL and the owner's password off
 * the screen, approving in headless Chromium, watching refreshes, pressing
 * Ctrl-C, and starting it again to see the session resume without approval.
 */
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, skipBrowserTests, type Browser } from '../support/browser.js'
import { CLI } from '../support/process.js'
import { Terminal, skipTerminalTests } from '../support/terminal.js'
import { closedPort } from './helpers.js'

/** Short enough that a refresh shows within seconds (refresh at half-life). */
const ACCESS_TTL = '3'

describe.skipIf(skipTerminalTests || skipBrowserTests)('countersign demo in a terminal', () => {
  let browser: Browser
  let cwd: string
  /** A port of this test's, not 4000, which another test or a person's demo may hold. */
  let port: number
  const terminals: Terminal[] = []

  beforeAll(async () => {
    browser = await launchBrowser()
    cwd = await mkdtemp(join(tmpdir(), 'countersign-demo-'))
    port = await closedPort()
  })

  afterEach(async () => {
    for (const terminal of terminals.splice(0)) await terminal.close()
  })

  afterAll(async () => {
    await browser?.close()
    await rm(cwd, { recursive: true, force: true })
  })

  async function startDemo(): Promise<Terminal> {
    const terminal = await Terminal.start({ cwd, command: [process.execPath, CLI, 'demo', '--access-ttl', ACCESS_TTL, '--port', String(port)] })
    terminals.push(terminal)
    return terminal
  }

  it('registers, is approved in the console, reports itself and a refresh, stops on Ctrl-C, and resumes without approval on the next run', async () => {
    const first = await startDemo()
    const [, email, password] = await first.waitFor(/owner:\s+(\S+@\S+)\s+password: (\S+)/)
    await first.waitFor(new RegExp(`server on http://127\\.0\\.0\\.1:${port}\\n`))
    const [, approvalUrl] = await first.waitFor(/approval URL: (http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[A-Z]{4}-[A-Z]{4})/)
    const [, agentId] = await first.waitFor(/agent id:\s+(agt_\S+)/)
    // The QR code of the URL is drawn with block characters under it.
    await first.waitFor(/[▀▄█]{20,}/)

    const page = await browser.newPage()
    await page.goto(approvalUrl!)
    const signIn = page.locator('form[data-form="sign-in"]')
    await signIn.getByLabel('Email').fill(email!)
    await signIn.getByLabel('Password').fill(password!)
    await signIn.getByRole('button', { name: 'Sign in' }).click()
    const card = page.getByTestId('approval')
    await card.waitFor()
    expect(await card.locator('.agent-name').textContent()).toBe('Demo agent')
    await card.getByRole('button', { name: 'Approve' }).click()
    await expect.poll(() => page.getByTestId('result').textContent()).toContain('Approved.')

    // Who it is comes from /api/agent/me: name, handle, and the id the approval named.
    const [, reportedId] = await first.waitFor(/Authenticated as Demo agent \(@demo-agent\) · agent (agt_\S+) · owner own_\S+/)
    expect(reportedId).toBe(agentId)
    await first.waitFor(/Live socket connected to \/ws/)
    await first.waitFor(/Refreshed the access token \(#1\) · it expires/)
    await first.waitFor(/live socket re-authenticated in band/)

    await first.sendKeys('C-c')
    expect(await first.waitForExit()).toBe(0)
    const firstScreen = await first.screen()
    expect(firstScreen).toContain('Stopping (SIGINT)')

    // Stopped cleanly: no writer lock left behind, the files private, and no token ever shown.
    const files = await readdir(join(cwd, '.countersign'))
    expect(files.sort()).toEqual(['agent.json', 'demo.json', 'server.json'])
    for (const name of files) expect((await stat(join(cwd, '.countersign', name))).mode & 0o777).toBe(0o600)
    const saved = JSON.parse(await readFile(join(cwd, '.countersign', 'agent.json'), 'utf8'))
    expect(saved.session.agentId).toBe(agentId)
    expect(firstScreen).not.toContain(saved.session.accessToken)
    expect(firstScreen).not.toContain(saved.session.refreshToken)

    const second = await startDemo()
    // The same owner and password, from demo.json.
    await second.waitFor(new RegExp(`owner:\\s+${escapeRegExp(email!)}\\s+password: ${escapeRegExp(password!)}`))
    const [, resumedId] = await second.waitFor(/Authenticated as Demo agent \(@demo-agent\) · agent (agt_\S+)/)
    expect(resumedId).toBe(agentId)
    await second.waitFor(/resumed the saved session: no approval needed/)
    await second.waitFor(/Refreshed the access token \(#1\)/)
    const secondScreen = await second.screen()
    expect(secondScreen).not.toContain('approval URL')
    expect(secondScreen).not.toContain('Registered the agent')
    await second.sendKeys('C-c')
    expect(await second.waitForExit()).toBe(0)
  }, 60_000)
})

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
