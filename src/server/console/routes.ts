/**
 * The owner console (protocol §6): `/` to sign in or sign up, `/device` to
 * read and decide an approval request, `/agents` to see and revoke agents.
 * Pages are rendered here; the script in /assets sends the forms to the
 * owner API with the session's CSRF token.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ServerContext } from '../context.js'
import { agentsOfOwner } from '../owner/agents.js'
import { USER_CODE_HINT, approvalView, lookUpApproval } from '../owner/approval-view.js'
import { currentSession, type SignedIn } from '../owner/session.js'
import { CONSOLE_CSS } from './assets/style.js'
import { CONSOLE_JS } from './assets/script.js'
import type { SafeHtml } from './html.js'
import { layout, type Section, type Viewer } from './layout.js'
import { agentsPage, approvalCard, codeEntry, homePage, problemPage, signInPage } from './pages.js'

const CONSOLE_PATHS = new Set(['/', '/device', '/agents'])

/** Where to go after sign-in: only a console page of this server, never another origin. */
export function safeNext(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 300) return null
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) return null
  let url: URL
  try {
    url = new URL(raw, 'http://console.invalid')
  } catch {
    return null
  }
  if (url.origin !== 'http://console.invalid' || !CONSOLE_PATHS.has(url.pathname)) return null
  return url.pathname + url.search
}

function viewerOf(signedIn: SignedIn | null): Viewer | null {
  return signedIn && { email: signedIn.owner.email, csrfToken: signedIn.session.csrfToken }
}

function sendPage(reply: FastifyReply, status: number, title: string, body: SafeHtml, viewer: Viewer | null, section: Section): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(layout(title, body, { viewer, section }))
}

/** Not signed in: off to the sign-in page, which brings the owner back here afterwards. */
function toSignIn(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const next = safeNext(request.url)
  return reply.header('cache-control', 'no-store').redirect(next && next !== '/' ? `/?next=${encodeURIComponent(next)}` : '/', 303)
}

function queryOf(request: FastifyRequest, name: string): unknown {
  const query = request.query
  return query !== null && typeof query === 'object' ? (query as Record<string, unknown>)[name] : undefined
}

export async function registerConsole(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/assets/console.css', async (_request, reply) => {
    return reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(CONSOLE_CSS)
  })
  app.get('/assets/console.js', async (_request, reply) => {
    return reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(CONSOLE_JS)
  })

  app.get('/', async (request, reply) => {
    const signedIn = currentSession(ctx, request)
    const next = safeNext(queryOf(request, 'next'))
    if (!signedIn) return sendPage(reply, 200, 'Sign in', signInPage({ next, signup: ctx.options.signup }), null, 'home')
    if (next && next !== '/') return reply.header('cache-control', 'no-store').redirect(next, 303)
    return sendPage(reply, 200, 'Home', homePage(agentsOfOwner(ctx, signedIn.owner.id).length), viewerOf(signedIn), 'home')
  })

  app.get('/device', async (request, reply) => {
    const signedIn = currentSession(ctx, request)
    if (!signedIn) return toSignIn(request, reply)
    const viewer = viewerOf(signedIn)
    const typed = queryOf(request, 'user_code')
    if (typed === undefined || typed === '') return sendPage(reply, 200, 'Approve a request', codeEntry({}), viewer, 'device')
    const lookup = lookUpApproval(ctx, signedIn.owner.id, typed, request.ip)
    switch (lookup.kind) {
      case 'malformed': {
        const shown = typeof typed === 'string' ? typed.slice(0, 32) : ''
        return sendPage(reply, 400, 'Approve a request', codeEntry({ typed: shown, problem: `That is not a code: ${USER_CODE_HINT}.` }), viewer, 'device')
      }
      case 'limited': {
        const minutes = Math.ceil(lookup.retryAfterSeconds / 60)
        reply.header('retry-after', String(lookup.retryAfterSeconds))
        const where = lookup.by === 'address' ? 'from your network' : 'with your account'
        const text = `Too many wrong codes were tried ${where}. Try again in ${minutes === 1 ? 'a minute' : `${minutes} minutes`}.`
        return sendPage(reply, 429, 'Too many tries', problemPage('Too many tries', text), viewer, 'device')
      }
      case 'missing':
        return sendPage(
          reply,
          404,
          'Code not found',
          codeEntry({ typed: lookup.userCode, heading: 'Code not found', problem: `No request has the code ${lookup.userCode}. Check the code your agent shows; a request that was decided or expired a while ago is gone.` }),
          viewer,
          'device',
        )
      case 'found': {
        const view = approvalView(lookup)
        return sendPage(reply, 200, `${view.intent === 'register' ? 'Register' : 'Log in'} ${view.agent.name}`, approvalCard(view, ctx.now()), viewer, 'device')
      }
    }
  })

  app.get('/agents', async (request, reply) => {
    const signedIn = currentSession(ctx, request)
    if (!signedIn) return toSignIn(request, reply)
    return sendPage(reply, 200, 'Your agents', agentsPage(agentsOfOwner(ctx, signedIn.owner.id), ctx.now()), viewerOf(signedIn), 'agents')
  })
}
