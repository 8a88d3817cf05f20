/**
 * Test support for examples/: each runs as a user would run it, in its own
 * process with `node --import tsx`, which resolves `countersign` through the
 * tsconfig paths just as the installed package would resolve.
 */
import { readFile } from 'node:fs/promises'
import { startChild, type Child } from '../support/process.js'

/** Examples started and not yet closed, with the promise of their close. */
const running = new Map<Child, Promise<unknown>>()

/** Kills whatever example a failed test left running, and waits for it to close, so its files can be removed. */
export async function stopExamples(): Promise<void> {
  for (const [child, closed] of running) {
    child.process.kill('SIGKILL')
    await closed
  }
}

/** Runs an example; `exited` waits for 'close', so stdout and stderr hold everything the process wrote. */
export function runExample(name: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Child {
  const started = startChild(process.execPath, ['--import', 'tsx', `examples/${name}.ts`, ...args], { env })
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    started.process.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }))
  })
  const child: Child = { ...started, exited: closed }
  running.set(child, closed)
  void closed.then(() => running.delete(child))
  return child
}

/** The tokens a session file holds, to check that none of them was printed. */
export async function secretsIn(storePath: string): Promise<string[]> {
  const document = JSON.parse(await readFile(storePath, 'utf8')) as { session: { accessToken: string | null; refreshToken: string | null } | null }
  const secrets = [document.session?.accessToken, document.session?.refreshToken].filter((value): value is string => typeof value === 'string')
  if (secrets.length !== 2) throw new Error(`expected an access and a refresh token in ${storePath}`)
  return secrets
}

/** The user code of an approval URL such as http://host/device?user_code=ABCD-EFGH. */
export function userCodeOf(approvalUrl: string): string {
  const code = new URL(approvalUrl).searchParams.get('user_code')
  if (code === null) throw new Error(`no user_code in ${approvalUrl}`)
  return code
}
