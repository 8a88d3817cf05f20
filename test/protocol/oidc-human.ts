/**
 * Plays the human at oidc-provider's dev interaction pages: open the
 * verification URL, confirm the code, sign in as anyone, consent (or abort).
 * Each page holds one form; we submit it as a browser would, with cookies.
 */
import type { DeviceAuthorization } from '../../src/protocol/types.js'

interface Form {
  action: string
  fields: URLSearchParams
}

const decode = (s: string) => s.replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')

function firstForm(html: string, base: string): Form {
  const form = /<form\b[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html)
  if (!form) throw new Error(`no form on the page: ${html.slice(0, 200)}`)
  const fields = new URLSearchParams()
  for (const input of form[2]!.matchAll(/<input\b([^>]*)>/gi)) {
    const name = /\bname="([^"]*)"/.exec(input[1]!)?.[1]
    const value = /\bvalue="([^"]*)"/.exec(input[1]!)?.[1]
    if (name) fields.set(name, decode(value ?? ''))
  }
  return { action: new URL(decode(form[1]!), base).href, fields }
}

class Browser {
  readonly #cookies = new Map<string, string>()

  async go(url: string, init: RequestInit = {}): Promise<{ url: string; html: string }> {
    let current = url
    let request = init
    for (let hop = 0; hop < 20; hop++) {
      const headers = new Headers(request.headers)
      if (this.#cookies.size) headers.set('cookie', [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; '))
      const response = await fetch(current, { ...request, headers, redirect: 'manual' })
      for (const cookie of response.headers.getSetCookie()) {
        const [pair] = cookie.split(';')
        const eq = pair!.indexOf('=')
        const name = pair!.slice(0, eq).trim()
        const value = pair!.slice(eq + 1).trim()
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) this.#cookies.delete(name)
        else this.#cookies.set(name, value)
      }
      const location = response.headers.get('location')
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel()
        current = new URL(location, current).href
        request = {}
        continue
      }
      const html = await response.text()
      if (response.status >= 400) throw new Error(`${response.status} at ${current}: ${html.slice(0, 300)}`)
      return { url: current, html }
    }
    throw new Error('too many redirects')
  }

  submit(page: { url: string; html: string }, extra: Record<string, string> = {}): Promise<{ url: string; html: string }> {
    const form = firstForm(page.html, page.url)
    for (const [k, v] of Object.entries(extra)) form.fields.set(k, v)
    return this.go(form.action, { method: 'POST', body: form.fields, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  }
}

function verificationPage(approval: DeviceAuthorization): string {
  return approval.verificationUriComplete ?? `${approval.verificationUri}?user_code=${encodeURIComponent(approval.userCode)}`
}

export async function approveAsHuman(approval: DeviceAuthorization, login: string): Promise<void> {
  const browser = new Browser()
  let page = await browser.go(verificationPage(approval))
  // The code entry, its confirmation, sign-in and consent, in whatever order the provider asks.
  for (let step = 0; step < 8; step++) {
    if (/Sign-in Success/.test(page.html)) return
    const isLogin = /name="prompt" value="login"/.test(page.html)
    page = await browser.submit(page, isLogin ? { login, password: 'any' } : {})
  }
  throw new Error(`the approval did not finish: ${page.html.slice(0, 300)}`)
}

export async function denyAsHuman(approval: DeviceAuthorization): Promise<void> {
  const browser = new Browser()
  const page = await browser.go(verificationPage(approval))
  await browser.submit(page, { abort: 'yes' })
}
