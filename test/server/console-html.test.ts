/**
 * The console's template helpers: escaping, the sign-in return path, and how
 * times read.
 */
import { describe, expect, it } from 'vitest'
import { SafeHtml, escapeHtml, html } from '../../src/server/console/html.js'
import { relative, when } from '../../src/server/console/layout.js'
import { safeNext } from '../../src/server/console/routes.js'

describe('html', () => {
  it('escapes every interpolated string, in content and in attributes', () => {
    const name = `<script>alert("x")</script> & 'quoted'`
    expect(html`<p title="${name}">${name}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;</p>',
    )
  })

  it('keeps nested templates as markup and escapes the values inside them once', () => {
    const items = ['a<b', 'c&d']
    expect(html`<ul>${items.map((item) => html`<li>${item}</li>`)}</ul>`.value).toBe('<ul><li>a&lt;b</li><li>c&amp;d</li></ul>')
  })

  it('renders false, null and undefined as nothing, and numbers as text', () => {
    expect(html`[${false}][${null}][${undefined}][${0}][${12}]`.value).toBe('[][][][0][12]')
  })

  it('does not trust an object that only looks like its output', () => {
    const fake = { value: '<b>' } as unknown as SafeHtml
    expect(html`${fake as unknown as string}`.value).toBe('[object Object]')
    expect(escapeHtml('<b>')).toBe('&lt;b&gt;')
  })
})

describe('safeNext', () => {
  it.each([
    ['/device?user_code=BCDF-GHJK', '/device?user_code=BCDF-GHJK'],
    ['/agents', '/agents'],
    ['/', '/'],
  ])('keeps the console path %s', (raw, kept) => {
    expect(safeNext(raw)).toBe(kept)
  })

  it.each([
    ['another origin', 'https://evil.example/device'],
    ['a protocol-relative URL', '//evil.example/device'],
    ['a backslash trick', '/\\evil.example'],
    ['an API path', '/api/session'],
    ['a relative path', 'device'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['something not a string', ['/agents']],
    ['an overlong path', `/device?user_code=${'x'.repeat(400)}`],
  ])('drops %s', (_name, raw) => {
    expect(safeNext(raw)).toBeNull()
  })
})

describe('times', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0)

  it.each([
    [now + 30_000, 'in less than a minute'],
    [now - 30_000, 'just now'],
    [now + 5 * 60_000, 'in 5 minutes'],
    [now - 60_000, '1 minute ago'],
    [now + 24 * 3_600_000, 'in 1 day'],
    [now + 23 * 3_600_000, 'in 23 hours'],
    [now - 3 * 86_400_000, '3 days ago'],
  ])('reads %s as "%s"', (ms, text) => {
    expect(relative(ms, now)).toBe(text)
  })

  it('shows a UTC time with the machine-readable value beside it', () => {
    expect(when(now + 90 * 60_000, now).value).toBe('<time datetime="2026-01-01T13:30:00.000Z">2026-01-01 13:30 UTC (in 2 hours)</time>')
  })
})
