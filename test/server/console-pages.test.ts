/**
 * The console's pages over plain HTTP: who may see what, the answers for
 * wrong codes, escaping, and the assets the strict CSP allows.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { TestOwner, startTestServer, type TestServer } from '../support/server.js'
import { exchange, sessionRequestFrom, signIn, startLogin, startRegister } from './owner-helpers.js'

let test: TestServer | undefined

afterEach(async () => {
  await test?.dispose()
  test = undefined
})

async function page(url: string, cookie?: string): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url, { headers: cookie ? { cookie } : {}, redirect: 'manual' })
  return { status: response.status, text: await response.text(), headers: response.headers }
}

async function signedIn(url: string, email?: string): Promise<{ owner: TestOwner; cookie: string; csrf: string }> {
  const owner = await TestOwner.create(url, email)
  const session = await signIn(url, owner.email, owner.password)
  return { owner, cookie: session.cookie, csrf: session.csrf }
}

describe('signing in', () => {
  it('sends a visitor without a session to the sign-in page, with the way back', async () => {
    test = await startTestServer()
    for (const path of ['/device?user_code=BCDF-GHJK', '/agents', '/device']) {
      const answer = await page(`${test.url}${path}`)
      expect(answer.status, path).toBe(303)
      expect(answer.headers.get('location')).toBe(`/?next=${encodeURIComponent(path)}`)
    }
    const signInPage = await page(`${test.url}/?next=${encodeURIComponent('/device?user_code=BCDF-GHJK')}`)
    expect(signInPage.status).toBe(200)
    expect(signInPage.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(signInPage.text).toContain('Sign in to continue to <code>/device?user_code=BCDF-GHJK</code>')
    expect(signInPage.text).toContain('data-next="/device?user_code=BCDF-GHJK"')
    expect(signInPage.text).not.toContain('csrf-token')
  })

  it('ignores a way back that leads off the console', async () => {
    test = await startTestServer()
    const answer = await page(`${test.url}/?next=${encodeURIComponent('//evil.example/')}`)
    expect(answer.text).toContain('data-next="/"')
    expect(answer.text).not.toContain('evil.example')
  })

  it('sends a signed-in owner straight on to the way back', async () => {
    test = await startTestServer()
    const { cookie, csrf } = await signedIn(test.url)
    const answer = await page(`${test.url}/?next=%2Fagents`, cookie)
    expect(answer.status).toBe(303)
    expect(answer.headers.get('location')).toBe('/agents')
    const home = await page(`${test.url}/`, cookie)
    expect(home.status).toBe(200)
    expect(home.text).toContain(`<meta name="csrf-token" content="${csrf}">`)
    expect(home.headers.get('cache-control')).toBe('no-store')
  })

  it('says so when sign-up is turned off', async () => {
    test = await startTestServer({ signup: false })
    const answer = await page(`${test.url}/`)
    expect(answer.text).toContain('Sign-up is turned off on this server.')
    expect(answer.text).not.toContain('data-form="sign-up"')
  })
})

describe('/device', () => {
  it('shows the card of a pending request with escaped agent text', async () => {
    test = await startTestServer()
    const { cookie } = await signedIn(test.url)
    const started = await startRegister(test.url, 'Tom & "Jerry" <b>')
    const answer = await page(started.verification_uri_complete, cookie)
    expect(answer.status).toBe(200)
    expect(answer.text).toContain('<h1 class="agent-name">Tom &amp; &quot;Jerry&quot; &lt;b&gt;</h1>')
    expect(answer.text).toContain('New agent registration')
    expect(answer.text).toContain('data-status="pending"')
    expect(answer.text).toContain('value="approve">Approve</button>')
    expect(answer.text).toContain('value="deny">Deny</button>')
  })

  it('answers 400 with the form again for text that cannot be a code', async () => {
    test = await startTestServer()
    const { cookie } = await signedIn(test.url)
    const answer = await page(`${test.url}/device?user_code=${encodeURIComponent('<x>AEIOU')}`, cookie)
    expect(answer.status).toBe(400)
    expect(answer.text).toContain('That is not a code: a user code is 8 letters from BCDFGHJKLMNPQRSTVWXZ, like WDJB-MJHT.')
    expect(answer.text).toContain('value="&lt;x&gt;AEIOU"')
  })

  it("answers 404 for an unknown code and for a login request of someone else's agent", async () => {
    test = await startTestServer()
    const ada = await signedIn(test.url, 'ada@example.test')
    const mallory = await signedIn(test.url, 'mallory@example.test')
    const registered = await startRegister(test.url, 'Ada agent')
    await ada.owner.approve(registered.user_code)
    expect((await exchange(test.url, registered.device_code)).status).toBe(200)
    const login = await startLogin(test.url, registered.agent_id)

    const unknown = await page(`${test.url}/device?user_code=BCDF-GHJK`, mallory.cookie)
    expect(unknown.status).toBe(404)
    expect(unknown.text).toContain('No request has the code BCDF-GHJK.')
    const foreign = await page(login.verification_uri_complete, mallory.cookie)
    expect(foreign.status).toBe(404)
    expect(foreign.text).not.toContain('Ada agent')
    const own = await page(login.verification_uri_complete, ada.cookie)
    expect(own.status).toBe(200)
    expect(own.text).toContain('Agent login')
  })

  it('answers 429 with Retry-After to wrong codes once an address has tried 10, counted with the owner API, and still shows a right code from there', async () => {
    test = await startTestServer()
    const guesser = await signedIn(test.url, 'guesser@example.test')
    const neighbour = await signedIn(test.url, 'neighbour@example.test')
    const started = await startRegister(test.url, 'Target')
    for (let i = 0; i < 5; i++) expect((await page(`${test.url}/device?user_code=BCDF-GHJ${'KLMNP'[i]}`, guesser.cookie)).status).toBe(404)
    for (let i = 0; i < 5; i++) expect((await guesser.owner.request('GET', `/api/approvals/BCDF-GHJ${'QRSTV'[i]}`)).status).toBe(404)
    const limited = await page(`${test.url}/device?user_code=BCDF-GHZK`, neighbour.cookie)
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(890)
    expect(limited.text).toContain('Too many wrong codes were tried from your network. Try again in 15 minutes.')
    const right = await page(started.verification_uri_complete, neighbour.cookie)
    expect(right.status).toBe(200)
    expect(right.text).toContain('Target')
    // The guesser's account is over its budget too: nothing is shown to it.
    const refused = await page(started.verification_uri_complete, guesser.cookie)
    expect(refused.status).toBe(429)
    expect(refused.text).toContain('Too many wrong codes were tried with your account. Try again in 15 minutes.')
    expect(refused.text).not.toContain('Target')
  })

  it('answers 429 once an account has tried 10 wrong codes, from whatever addresses', async () => {
    test = await startTestServer()
    const session = await signedIn(test.url)
    const started = await startRegister(test.url, 'Target')
    for (let i = 0; i < 10; i++) expect((await sessionRequestFrom(`127.0.0.${i + 2}`, test.url, 'GET', `/api/approvals/BCDF-GH${'JKLMNPQRST'[i]}K`, session)).status).toBe(404)
    const limited = await page(started.verification_uri_complete, session.cookie)
    expect(limited.status).toBe(429)
    expect(limited.text).toContain('Too many wrong codes were tried with your account. Try again in 15 minutes.')
    expect(limited.text).not.toContain('Target')
  })
})

describe('/agents', () => {
  it('lists only the signed-in owner’s agents, escaped', async () => {
    test = await startTestServer()
    const ada = await signedIn(test.url, 'ada@example.test')
    const bob = await signedIn(test.url, 'bob@example.test')
    const adas = await startRegister(test.url, 'Ada <agent>')
    await ada.owner.approve(adas.user_code)
    const bobs = await startRegister(test.url, 'Bob agent')
    await bob.owner.approve(bobs.user_code)
    const answer = await page(`${test.url}/agents`, ada.cookie)
    expect(answer.status).toBe(200)
    expect(answer.text).toContain('<strong>Ada &lt;agent&gt;</strong>')
    expect(answer.text).toContain(`data-agent-id="${adas.agent_id}"`)
    expect(answer.text).not.toContain('Bob agent')
  })

  it('says how to get an agent when there is none', async () => {
    test = await startTestServer()
    const { cookie } = await signedIn(test.url)
    expect((await page(`${test.url}/agents`, cookie)).text).toContain('No agents yet.')
  })
})

describe('assets and headers', () => {
  it('serves the stylesheet and the script as files, and pages under a CSP that allows nothing inline', async () => {
    test = await startTestServer()
    const css = await page(`${test.url}/assets/console.css`)
    expect(css.status).toBe(200)
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    const js = await page(`${test.url}/assets/console.js`)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(() => new Function(js.text)).not.toThrow()
    const home = await page(`${test.url}/`)
    const csp = home.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("style-src 'self'")
    expect(home.text).not.toMatch(/<script>|<style|style="| on[a-z]+="/)
  })
})
