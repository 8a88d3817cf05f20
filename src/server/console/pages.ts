/**
 * The console's pages as HTML bodies. They show state; the script sends the
 * forms to the owner API and reloads, so every result is the server's word.
 */
import type { ApprovalView } from '../owner/approval-view.js'
import type { AgentView } from '../owner/agents.js'
import { html, type SafeHtml } from './html.js'
import { when } from './layout.js'

export function signInPage(options: { next: string | null; signup: boolean }): SafeHtml {
  const { next, signup } = options
  return html`<section class="intro">
  <h1>Approve your agents</h1>
  <p>Agents ask here for access. Sign in to approve or deny their requests and to manage the agents you own.</p>
  ${next && html`<p class="notice" data-testid="sign-in-needed">Sign in to continue to <code>${next}</code>.</p>`}
</section>
<div class="grid">
  <form class="card" method="post" action="/api/session" data-form="sign-in" data-next="${next ?? '/'}">
    <h2>Sign in</h2>
    <label>Email <input type="email" name="email" autocomplete="username" required></label>
    <label>Password <input type="password" name="password" autocomplete="current-password" required minlength="8"></label>
    <p class="error" role="alert" hidden></p>
    <button type="submit" class="primary">Sign in</button>
  </form>
  ${signup
    ? html`<form class="card" method="post" action="/api/owners" data-form="sign-up" data-next="${next ?? '/'}">
    <h2>Create an account</h2>
    <label>Email <input type="email" name="email" autocomplete="username" required></label>
    <label>Password <input type="password" name="password" autocomplete="new-password" required minlength="8">
      <span class="hint">At least 8 characters.</span></label>
    <p class="error" role="alert" hidden></p>
    <button type="submit">Create account</button>
  </form>`
    : html`<div class="card muted-card">
    <h2>New here?</h2>
    <p>Sign-up is turned off on this server. Ask its operator for an account.</p>
  </div>`}
</div>`
}

/** The form where a human types the code an agent printed. */
export function codeEntry(options: { typed?: string; problem?: string; heading?: string }): SafeHtml {
  return html`<section class="card narrow">
  <h1>${options.heading ?? 'Approve a request'}</h1>
  <p>An agent that asks for access prints a link and a code like <code>WDJB-MJHT</code>. Enter the code to see the request.</p>
  <form method="get" action="/device" class="code-form">
    <label for="user_code">Code</label>
    <div class="row">
      <input id="user_code" name="user_code" class="code" value="${options.typed ?? ''}" placeholder="XXXX-XXXX" maxlength="32"
        autocomplete="off" autocapitalize="characters" spellcheck="false" required>
      <button type="submit" class="primary">Continue</button>
    </div>
  </form>
  ${options.problem && html`<p class="error" role="alert">${options.problem}</p>`}
</section>`
}

export function homePage(agentCount: number): SafeHtml {
  return html`${codeEntry({ heading: 'Approve a request' })}
<section class="card narrow">
  <h2>Your agents</h2>
  <p>You own ${agentCount === 1 ? 'one agent' : `${agentCount} agents`}. <a href="/agents">See them and revoke their access</a>.</p>
</section>`
}

export function approvalCard(view: ApprovalView, now: number): SafeHtml {
  const register = view.intent === 'register'
  const agentName = view.agent.name
  return html`<article class="card approval state-${view.status}" data-testid="approval" data-status="${view.status}">
  <p class="eyebrow">${register ? 'New agent registration' : 'Agent login'}</p>
  <h1 class="agent-name">${agentName}</h1>
  <p class="agent-handle">@${view.agent.username} <span class="sep">·</span> <code>${view.agent.id}</code></p>
  <dl class="facts">
    <dt>Request</dt>
    <dd data-testid="intent">${register ? 'Register a new agent. Approving makes you its owner.' : 'Log in as this agent. Approving gives it a new session.'}</dd>
    <dt>Access</dt><dd><code>${view.scope}</code></dd>
    <dt>Code</dt><dd><code>${view.user_code}</code></dd>
    <dt>Asked</dt><dd data-testid="asked">${when(Date.parse(view.created_at), now)}</dd>
    <dt>${view.status === 'expired' ? 'Expired' : 'Expires'}</dt><dd data-testid="expires">${when(Date.parse(view.expires_at), now)}</dd>
    ${view.decided_at && html`<dt>Decided</dt><dd>${when(Date.parse(view.decided_at), now)}</dd>`}
  </dl>
  ${outcome(view, agentName)}
</article>
<p class="after"><a href="/device">Enter another code</a></p>`
}

function outcome(view: ApprovalView, agentName: string): SafeHtml {
  switch (view.status) {
    case 'pending':
      return html`<p class="hint">Check that this code is the one your agent shows. Approve only an agent you started.</p>
  <form class="actions" method="post" action="/api/approvals/${encodeURIComponent(view.user_code)}/approve" data-form="decide" data-user-code="${view.user_code}">
    <button type="submit" class="primary" name="decision" value="approve">Approve</button>
    <button type="submit" class="danger" name="decision" value="deny">Deny</button>
  </form>
  <p class="error" role="alert" hidden></p>`
    case 'approved':
      return html`<p class="result ok" data-testid="result"><strong>Approved.</strong> ${agentName} has access now and can carry on. You can close this page.</p>`
    case 'denied':
      return html`<p class="result bad" data-testid="result"><strong>Denied.</strong> ${agentName} was refused; it has to ask again to get access.</p>`
    case 'expired':
      return html`<p class="result muted" data-testid="result"><strong>This request has expired.</strong> Nobody decided it in time. Start the agent again to get a new code.</p>`
  }
}

export function agentsPage(agents: AgentView[], now: number): SafeHtml {
  const rows = agents.map(
    (agent) => html`<tr data-agent-id="${agent.id}">
      <td><strong>${agent.name}</strong><br><span class="muted">@${agent.username}</span></td>
      <td>${when(Date.parse(agent.created_at), now)}</td>
      <td>${agent.last_seen_at === null ? 'never' : when(Date.parse(agent.last_seen_at), now)}</td>
      <td class="count" data-testid="sessions">${agent.active_sessions}</td>
      <td class="end">
        <form method="post" action="/api/agents/${encodeURIComponent(agent.id)}/revoke" data-form="revoke" data-agent-id="${agent.id}" data-agent-name="${agent.name}">
          <button type="submit" class="danger small" ${agent.active_sessions === 0 && html`disabled title="No active sessions"`}>Revoke</button>
        </form>
      </td>
    </tr>`,
  )
  return html`<section>
  <div class="page-head">
    <h1>Your agents</h1>
    <a class="button" href="/device">Approve a request</a>
  </div>
  ${agents.length === 0
    ? html`<div class="card empty"><p>No agents yet. When an agent registers, open the link it prints and approve it; it is listed here afterwards.</p></div>`
    : html`<div class="card table-card">
    <table class="agents">
      <thead><tr><th>Agent</th><th>Registered</th><th>Last seen</th><th>Active sessions</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${rows}</tbody>
    </table>
    <p class="error" role="alert" hidden></p>
  </div>
  <p class="hint">Revoking ends every session of an agent at once: its tokens stop working and it needs a new approval to log in.</p>`}
</section>`
}

/** A page that only says something went wrong, with a way on. */
export function problemPage(heading: string, text: string): SafeHtml {
  return html`<section class="card narrow">
  <h1>${heading}</h1>
  <p data-testid="problem">${text}</p>
  <p><a href="/device">Enter a code</a></p>
</section>`
}
