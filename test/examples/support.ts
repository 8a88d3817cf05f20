/**
 * Test support for examples/: each runs as a user would run it, in its own
 * process with `node --import tsx`, which resolves `countersign` through the
 * tsconfig paths just as the installed package would resolve.
 */
import { readFile } from 'node:fs/promises'
import { startChild, type Child } from '../support/process.js'

export function runExample(name: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Child {
  return startChild(process.execPath, ['--import', 'tsx', `examples/${name}.ts`, ...args], { env })
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
