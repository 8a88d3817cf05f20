/**
 * The frame every console page shares, and how times are shown. Styles and
 * the script are files served from /assets: the CSP allows nothing inline.
 */
import { html, type SafeHtml } from './html.js'

export interface Viewer {
  email: string
  csrfToken: string
}

export type Section = 'home' | 'device' | 'agents'

export function layout(title: string, body: SafeHtml, options: { viewer: Viewer | null; section: Section }): string {
  const { viewer, section } = options
  const link = (href: string, label: string, target: Section) => html`<a href="${href}" ${section === target ? html`aria-current="page"` : ''}>${label}</a>`
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${viewer && html`<meta name="csrf-token" content="${viewer.csrfToken}">`}
<title>${title} · Countersign</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/console.css">
<script src="/assets/console.js" defer></script>
</head>
<body>
<header class="top">
  <div class="top-inner">
    <a class="brand" href="/"><span class="mark" aria-hidden="true">✓</span> Countersign</a>
    ${viewer &&
    html`<nav aria-label="Console">
      ${link('/device', 'Approve a request', 'device')}
      ${link('/agents', 'Your agents', 'agents')}
    </nav>
    <div class="who">
      <span class="email">${viewer.email}</span>
      <button type="button" class="link" data-sign-out>Sign out</button>
    </div>`}
  </div>
</header>
<main>
  <div id="flash" class="flash" role="status" hidden></div>
  ${body}
</main>
<noscript><p class="noscript">The console needs JavaScript to sign in and to send decisions.</p></noscript>
</body>
</html>
`.value
}

/** `2026-03-01 12:00 UTC (in 24 hours)`; the script rewrites it in the viewer's own time zone. */
export function when(ms: number, now: number): SafeHtml {
  const iso = new Date(ms).toISOString()
  return html`<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC (${relative(ms, now)})</time>`
}

const UNITS: Array<[string, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
]

export function relative(ms: number, now: number): string {
  const diff = ms - now
  const size = Math.abs(diff)
  if (size < 60_000) return diff >= 0 ? 'in less than a minute' : 'just now'
  for (const [unit, length] of UNITS) {
    if (size >= length) {
      const count = Math.round(size / length)
      const phrase = `${count} ${unit}${count === 1 ? '' : 's'}`
      return diff >= 0 ? `in ${phrase}` : `${phrase} ago`
    }
  }
  return ''
}
