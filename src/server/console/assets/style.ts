/**
 * The console's stylesheet, served as /assets/console.css. Kept as a string
 * in a module so that the compiled package carries it without a copy step.
 */
export const CONSOLE_CSS = `
:root {
  --bg: #f4f6f9; --surface: #fff; --text: #1b2230; --muted: #5b6577; --line: #dde2ea;
  --accent: #2457d6; --accent-text: #fff; --ok: #137a43; --ok-bg: #e7f6ee; --bad: #b42318; --bad-bg: #fdecea;
  --warn-bg: #fff6df; --radius: 10px; --shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 4px 14px rgba(16, 24, 40, .06);
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #11151c; --surface: #1a2029; --text: #e6e9ef; --muted: #9aa4b5; --line: #2c3441;
    --accent: #5b8cff; --accent-text: #0b1020; --ok: #4cc38a; --ok-bg: #12301f; --bad: #ff7b6e; --bad-bg: #3a1714;
    --warn-bg: #33290f; --shadow: none;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--accent); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
h1, h2 { line-height: 1.2; margin: 0 0 .5rem; }
h1 { font-size: 1.6rem; }
h2 { font-size: 1.2rem; }
p { margin: .5rem 0; }

.top { background: var(--surface); border-bottom: 1px solid var(--line); }
.top-inner { max-width: 920px; margin: 0 auto; padding: .75rem 1.25rem; display: flex; align-items: center; gap: 1.5rem; flex-wrap: wrap; }
.brand { font-weight: 700; font-size: 1.1rem; color: var(--text); text-decoration: none; display: inline-flex; align-items: center; gap: .5rem; }
.mark { display: inline-grid; place-items: center; width: 1.6rem; height: 1.6rem; border-radius: 6px; background: var(--accent); color: var(--accent-text); font-size: .95rem; }
nav { display: flex; gap: 1rem; }
nav a { color: var(--muted); text-decoration: none; padding: .25rem 0; border-bottom: 2px solid transparent; }
nav a:hover { color: var(--text); }
nav a[aria-current="page"] { color: var(--text); border-bottom-color: var(--accent); }
.who { margin-left: auto; display: flex; align-items: center; gap: .75rem; color: var(--muted); font-size: .92rem; }

main { max-width: 920px; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
.intro { margin-bottom: 1.5rem; }
.intro p { color: var(--muted); max-width: 40rem; }
.grid { display: grid; gap: 1.25rem; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); }
.card { background: var(--surface); border: 1px solid var(--line); border-radius: var(--radius); box-shadow: var(--shadow); padding: 1.5rem; margin-bottom: 1.25rem; }
.narrow { max-width: 560px; }
.muted-card { color: var(--muted); }
.page-head { display: flex; align-items: center; justify-content: space-between; gap: 1rem; margin-bottom: 1rem; }

label { display: block; margin: .75rem 0; font-weight: 600; font-size: .92rem; }
input {
  display: block; width: 100%; margin-top: .3rem; padding: .6rem .75rem; font: inherit; font-weight: 400;
  color: var(--text); background: var(--bg); border: 1px solid var(--line); border-radius: 8px;
}
input:focus { outline: 2px solid var(--accent); outline-offset: 1px; border-color: transparent; }
input.code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 1.3rem; letter-spacing: .12em; text-transform: uppercase; margin-top: 0; }
.code-form .row { display: flex; gap: .75rem; align-items: stretch; }
.code-form label { margin-bottom: .3rem; }

button, .button {
  display: inline-flex; align-items: center; justify-content: center; gap: .4rem; font: inherit; font-weight: 600;
  padding: .6rem 1.1rem; border-radius: 8px; border: 1px solid var(--line); background: var(--surface); color: var(--text);
  cursor: pointer; text-decoration: none; white-space: nowrap;
}
button:hover, .button:hover { border-color: var(--muted); }
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
button.danger { background: var(--surface); border-color: var(--bad); color: var(--bad); }
button.danger:hover { background: var(--bad-bg); }
button.small { padding: .3rem .7rem; font-size: .88rem; }
button.link { border: 0; background: none; padding: 0; color: var(--accent); font-weight: 400; }
button:disabled, button[aria-busy="true"] { opacity: .55; cursor: not-allowed; }

.hint { color: var(--muted); font-size: .9rem; font-weight: 400; display: block; }
.notice { background: var(--warn-bg); border-radius: 8px; padding: .6rem .9rem; display: inline-block; }
.error { color: var(--bad); background: var(--bad-bg); border-radius: 8px; padding: .6rem .9rem; }
.error[hidden], .flash[hidden] { display: none; }
.flash { background: var(--ok-bg); color: var(--ok); border-radius: 8px; padding: .7rem 1rem; margin-bottom: 1.25rem; font-weight: 600; }
.flash.bad { background: var(--bad-bg); color: var(--bad); }
.muted { color: var(--muted); }
.noscript { max-width: 920px; margin: 0 auto; padding: 0 1.25rem; color: var(--bad); }

.approval { max-width: 620px; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: .78rem; font-weight: 700; color: var(--accent); margin: 0 0 .25rem; }
.agent-name { font-size: 1.9rem; overflow-wrap: anywhere; }
.agent-handle { color: var(--muted); margin-top: 0; overflow-wrap: anywhere; }
.sep { padding: 0 .25rem; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .45rem 1.25rem; margin: 1.25rem 0; padding: 1rem 0; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); }
.facts dt { color: var(--muted); font-size: .9rem; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.actions { display: flex; gap: .75rem; margin-top: 1rem; }
.actions button { min-width: 8rem; }
.result { border-radius: 8px; padding: .8rem 1rem; margin: 1rem 0 0; }
.result.ok { background: var(--ok-bg); color: var(--ok); }
.result.bad { background: var(--bad-bg); color: var(--bad); }
.result.muted { background: var(--bg); }
.after { margin-top: 0; }

.table-card { padding: 0; overflow-x: auto; }
.table-card .error { margin: 1rem; }
table.agents { width: 100%; border-collapse: collapse; }
.agents th, .agents td { text-align: left; padding: .8rem 1rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
.agents th { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); font-weight: 600; }
.agents tr:last-child td { border-bottom: 0; }
.agents td time { font-size: .92rem; }
.agents td:first-child { min-width: 13rem; overflow-wrap: anywhere; }
.agents .count { font-variant-numeric: tabular-nums; }
.agents .end { text-align: right; }
.empty { color: var(--muted); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

@media (max-width: 560px) {
  .code-form .row { flex-direction: column; }
  .who { margin-left: 0; }
  .agents th:nth-child(2), .agents td:nth-child(2) { display: none; }
}
`
