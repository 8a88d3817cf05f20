/**
 * Test support: real headless Chromium through playwright-core, with a fresh
 * profile per launch. Browser tests skip when /usr/bin/chromium is missing,
 * except in CI (CI=true), where a missing browser is a failure.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** True when browser tests should be skipped: no Chromium here, and not in CI. */
export const skipBrowserTests = !existsSync(CHROMIUM_PATH) && process.env.CI !== 'true'

export interface Browser {
  context: BrowserContext
  /** Messages the pages logged as errors (CSP violations among them) and uncaught page errors. */
  readonly problems: string[]
  newPage(): Promise<Page>
  close(): Promise<void>
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}; .ci/run installs it with apt-get`)
  const profile = await mkdtemp(join(tmpdir(), 'countersign-chromium-'))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS })
  } catch (error) {
    await rm(profile, { recursive: true, force: true })
    throw error
  }
  const problems: string[] = []
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
  }
  context.on('page', watch)
  for (const page of context.pages()) watch(page)
  return {
    context,
    problems,
    async newPage() {
      const [blank] = context.pages()
      return blank && blank.url() === 'about:blank' ? blank : context.newPage()
    },
    async close() {
      await context.close().catch(() => {})
      await rm(profile, { recursive: true, force: true })
    },
  }
}
