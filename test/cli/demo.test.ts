/**
 * `npm start` (= `countersign demo`) driven as a person would: in a real
 * terminal (tmux), reading the approval URL, the user code, the waiting
 * spinner and the owner's password off the screen, approving in headless
 * Chromium, watching refreshes, pressing Ctrl-C, and starting it again to see
 * the session resume without approval.
 */
import { mkdtemp, readFile, readdir, rm, stat, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, skipBrowserTests, type Browser } from '../support/browser.js'
import { REPO_ROOT } from '../support/process.js'
import { Terminal, skipTerminalTests } from '../support/terminal.js'
import { closedPort } from './helpers.js'

/** Short enough that a refresh shows within seconds (refresh at half-life). */
const ACCESS_TTL = '3'

/**
 * What the terminal's shell sees of `npm start` stopped by Ctrl-C: npm's script shell gets the Ctrl-C too
 * and dies of it, and npm then exits by the same signal, after the demo has stopped (its own exit code, 0,
 * is checked in demo-json.test.ts). The demo's clean stop shows on the screen and in its files.
 */
const NPM_STOPPED_BY_CTRL_C = 128 + 2

/** RFC 8628 §6.1: eight characters of the base-20 alphabet (no vowels), a dash in the middle. */
const USER_CODE = '[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}'

describe.skipIf(skipTerminalTests || skipBrowserTests)('countersign demo in a terminal', () => {
  let browser: Browser
  let cwd: string
  /** A port of this test's, not 4000, which another test or a person's demo may hold. */
  let port: number
  const terminals: Terminal[] = []

  beforeAll(async () => {
    browser = await launchBrowser()
    // `npm start` runs its script in the package's folder, whose ./.countersign is the demo's data: a folder
    // holding this package's own package.json and bin/ (linked) keeps the checkout's demo data out of the test.
    cwd = await mkdtemp(join(tmpdir(), 'countersign-demo-'))
    for (const name of ['package.json', 'bin']) await symlink(join(REPO_ROOT, name), join(cwd, name))
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
    const terminal = await Terminal.start({ cwd, command: ['npm', 'start', '--', '--access-ttl', ACCESS_TTL, '--port', String(port)] })
    terminals.push(terminal)
    return terminal
  }

  it('registers, is approved in the console, reports itself and a refresh, stops on Ctrl-C, and resumes without approval on the next run', async () => {
    const first = await startDemo()
    // The package's start script is what runs.
    await first.waitFor(new RegExp(`> node bin/countersign demo --access-ttl ${ACCESS_TTL} --port ${port}\\n`))
    const [, email, password] = await first.waitFor(/owner:\s+(\S+@\S+)\s+password: (\S+)/)
    await first.waitFor(new RegExp(`server on http://127\\.0\\.0\\.1:${port}\\n`))
    const [, approvalUrl, codeInUrl] = await first.waitFor(new RegExp(`approval URL: (http://127\\.0\\.0\\.1:${port}/device\\?user_code=(${USER_CODE}))\\n`))
    const [, userCode] = await first.waitFor(new RegExp(`\\n {2}user code: +(${USER_CODE})\\n`))
    expect(userCode).toBe(codeInUrl)
    const [, agentId] = await first.waitFor(/agent id:\s+(agt_\S+)/)
    // The QR code of the URL is drawn with block characters under it.
    await first.waitFor(/[▀▄█]{20,}/)
    // The spinner counts the polls (every 3 s, the server's interval) and the time left of the 24 h request.
    await first.waitFor(/Waiting for approval · poll [1-9]\d* · expires in 23 h 5\d min$/m)

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
    expect(await first.waitForExit()).toBe(NPM_STOPPED_BY_CTRL_C)
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
    expect(await second.waitForExit()).toBe(NPM_STOPPED_BY_CTRL_C)
    expect(await second.screen()).toContain('Stopping (SIGINT)')
  }, 60_000)
})

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
