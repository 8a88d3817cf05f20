/**
 * The owner console in real headless Chromium: an owner signs up in the
 * page, opens the approval link an agent printed, and approves or denies
 * while the agent waits at the token endpoint; then revokes the agent.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { launchBrowser, skipBrowserTests, type Browser } from '../support/browser.js'
import { TestOwner, startTestServer, type TestServer } from '../support/server.js'
import { exchange, refresh, startRegister } from './owner-helpers.js'

/** Waits at the token endpoint with long-polls, as an agent does, until the request is decided. */
async function waitForDecision(url: string, deviceCode: string): Promise<{ status: number; body: any }> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const answer = await exchange(url, deviceCode, 5)
    if (answer.body.error !== 'authorization_pending') return answer
  }
  throw new Error('the request was not decided within 10 long-polls')
}

async function signUpInPage(page: Page, email: string): Promise<void> {
  const form = page.locator('form[data-form="sign-up"]')
  await form.getByLabel('Email').fill(email)
  await form.getByLabel('Password').fill('correct horse battery')
  await form.getByRole('button', { name: 'Create account' }).click()
}

async function signInInPage(page: Page, owner: TestOwner): Promise<void> {
  const form = page.locator('form[data-form="sign-in"]')
  await form.getByLabel('Email').fill(owner.email)
  await form.getByLabel('Password').fill(owner.password)
  await form.getByRole('button', { name: 'Sign in' }).click()
}

describe.skipIf(skipBrowserTests)('the console in Chromium', () => {
  let browser: Browser
  let test: TestServer | undefined

  beforeAll(async () => {
    browser = await launchBrowser()
  })

  afterAll(async () => {
    await browser?.close()
  })

  beforeEach(async () => {
    await test?.dispose()
    test = undefined
    // Every test's server listens on 127.0.0.1; cookies ignore the port, so each test starts without any.
    await browser.context.clearCookies()
    browser.problems.length = 0
  })

  afterAll(async () => {
    await test?.dispose()
  })

  it('signs up in the page, opens the approval link, approves, and the waiting agent gets tokens for the same agent id', async () => {
    test = await startTestServer({ interval: 1 })
    const started = await startRegister(test.url, 'Nightly report writer')
    const decided = waitForDecision(test.url, started.device_code)
    const page = await browser.newPage()

    await page.goto(started.verification_uri_complete)
    // Not signed in: the page asks to sign in and names where it will return.
    expect(new URL(page.url()).pathname).toBe('/')
    await expect.poll(() => page.getByTestId('sign-in-needed').textContent()).toContain(`/device?user_code=${started.user_code}`)
    await signUpInPage(page, 'ada@example.test')

    const card = page.getByTestId('approval')
    await card.waitFor()
    expect(page.url()).toBe(started.verification_uri_complete)
    expect(await card.locator('.agent-name').textContent()).toBe('Nightly report writer')
    expect(await card.locator('.agent-handle').textContent()).toContain('@nightly-report-writer')
    expect(await card.locator('.eyebrow').textContent()).toBe('New agent registration')
    expect(await card.getByTestId('asked').textContent()).toMatch(/just now/)
    expect(await card.getByTestId('expires').textContent()).toMatch(/in 24 hours|tomorrow/)

    await card.getByRole('button', { name: 'Approve' }).click()
    await expect.poll(() => page.getByTestId('result').textContent()).toContain('Approved.')
    expect(await card.getAttribute('data-status')).toBe('approved')

    const tokens = await decided
    expect(tokens.status).toBe(200)
    expect(tokens.body.agent_id).toBe(started.agent_id)
    expect(browser.problems).toEqual([])
  })

  it('denies from the card, and the waiting agent is told access_denied', async () => {
    test = await startTestServer({ interval: 1 })
    const owner = await TestOwner.create(test.url, 'bob@example.test')
    const started = await startRegister(test.url, 'Unwanted agent')
    const decided = waitForDecision(test.url, started.device_code)
    const page = await browser.newPage()

    await page.goto(started.verification_uri)
    await signInInPage(page, owner)
    // Back on /device without a code: typed by hand, the way a human reads it off a terminal.
    await page.getByLabel('Code').fill(started.user_code.replace('-', '').toLowerCase())
    await page.getByRole('button', { name: 'Continue' }).click()
    const card = page.getByTestId('approval')
    await card.waitFor()
    expect(await card.locator('.agent-name').textContent()).toBe('Unwanted agent')

    await card.getByRole('button', { name: 'Deny' }).click()
    await expect.poll(() => page.getByTestId('result').textContent()).toContain('Denied.')

    const answer = await decided
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'access_denied', error_description: 'the request was denied' })
    expect(browser.problems).toEqual([])
  })

  it('shows an agent name as text, never as markup', async () => {
    test = await startTestServer()
    const owner = await TestOwner.create(test.url)
    const started = await startRegister(test.url, '<img src=x onerror="window.pwned=1">Mallory')
    const page = await browser.newPage()
    await page.goto(started.verification_uri_complete)
    await signInInPage(page, owner)
    const name = page.locator('.agent-name')
    await name.waitFor()
    expect(await name.textContent()).toBe('<img src=x onerror="window.pwned=1">Mallory')
    expect(await page.locator('.approval img').count()).toBe(0)
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined()
  })

  it('lists the agents and revokes one: its refresh token then answers invalid_grant', async () => {
    test = await startTestServer()
    const owner = await TestOwner.create(test.url)
    const started = await startRegister(test.url, 'Revocable agent')
    await owner.approve(started.user_code)
    const tokens = await exchange(test.url, started.device_code)
    expect(tokens.status).toBe(200)
    const page = await browser.newPage()

    await page.goto(`${test.url}/agents`)
    await signInInPage(page, owner)
    const row = page.locator(`tr[data-agent-id="${started.agent_id}"]`)
    await row.waitFor()
    expect(await row.locator('strong').textContent()).toBe('Revocable agent')
    expect(await row.getByTestId('sessions').textContent()).toBe('1')

    await row.getByRole('button', { name: 'Revoke' }).click()
    await expect.poll(() => page.locator('#flash').textContent()).toBe('Revoked one session of Revocable agent.')
    expect(await row.getByTestId('sessions').textContent()).toBe('0')
    expect(await row.getByRole('button', { name: 'Revoke' }).isDisabled()).toBe(true)

    const refreshed = await refresh(test.url, tokens.body.refresh_token)
    expect(refreshed.status).toBe(400)
    expect(refreshed.body.error).toBe('invalid_grant')
    expect(browser.problems).toEqual([])
  })

  it('shows the API error when a decision is refused, and signs out', async () => {
    let clock = Date.now()
    test = await startTestServer({ now: () => clock, approvalTtl: 60 })
    const owner = await TestOwner.create(test.url)
    const started = await startRegister(test.url, 'Late agent')
    const page = await browser.newPage()
    await page.goto(started.verification_uri_complete)
    await signInInPage(page, owner)
    const card = page.getByTestId('approval')
    await card.waitFor()
    // The request runs out while the page is open.
    clock += 61_000
    await card.getByRole('button', { name: 'Approve' }).click()
    await expect.poll(() => card.getByRole('alert').textContent()).toBe('This approval request has expired.')
    await page.reload()
    expect(await page.getByTestId('result').textContent()).toContain('This request has expired.')
    expect(await card.getAttribute('data-status')).toBe('expired')

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(`${test.url}/`)
    await page.locator('form[data-form="sign-in"]').waitFor()
    const again = await page.goto(`${test.url}/agents`)
    expect(new URL(page.url()).search).toBe('?next=%2Fagents')
    expect(again?.status()).toBe(200)
  })
})
