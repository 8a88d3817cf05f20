/**
 * The countersign CLI: `run(argv)` parses the arguments, runs one command and
 * gives the exit code (see exit-codes.ts).
 */
import { Command, CommanderError } from 'commander'
import { ExitCode } from './exit-codes.js'
import { loginCommand, registerCommand } from './approval-commands.js'
import { demoCommand } from './demo.js'
import { revokeCommand } from './revoke.js'
import { serveCommand } from './serve.js'
import { statusCommand } from './status.js'
import { tokenCommand } from './token.js'
import { watchCommand } from './watch.js'

export interface GlobalOptions {
  json?: boolean
  verbose?: boolean
}

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command()
    .name('countersign')
    .description('Credentials for autonomous agents through human approval.')
    .option('--json', 'print JSON lines instead of text')
    .option('--verbose', 'print stack traces with errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  serveCommand(program, setExitCode)
  registerCommand(program, setExitCode)
  loginCommand(program, setExitCode)
  statusCommand(program, setExitCode)
  tokenCommand(program, setExitCode)
  revokeCommand(program, setExitCode)
  watchCommand(program, setExitCode)
  demoCommand(program, setExitCode)
  return program
}

export async function run(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.OK
  const program = buildProgram((code) => {
    exitCode = code
  })
  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end here with code 0; usage mistakes were already printed by commander.
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE
    }
    process.stderr.write(`countersign: ${error instanceof Error ? error.message : String(error)}\n`)
    return ExitCode.FAILURE
  }
  return exitCode
}
