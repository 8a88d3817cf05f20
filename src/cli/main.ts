/**
 * The countersign CLI: `run(argv)` parses the arguments, runs one command and
 * gives the exit code (see exit-codes.ts).
 */
import { Command, CommanderError } from 'commander'
import { stopOnClosedPipe } from './closed-pipe.js'
import { ExitCode } from './exit-codes.js'
import type { GlobalOptions } from './global-options.js'
import { createOutput } from './output.js'
import { usageErrorOf, wantsJson } from './usage.js'
import { loginCommand, registerCommand } from './approval-commands.js'
import { demoCommand } from './demo.js'
import { revokeCommand } from './revoke.js'
import { serveCommand } from './serve.js'
import { statusCommand } from './status.js'
import { tokenCommand } from './token.js'
import { watchCommand } from './watch.js'

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command()
    .name('countersign')
    .description('Credentials for autonomous agents through human approval.')
    .option('--json', 'print JSON lines instead of text')
    .option('--verbose', 'print stack traces with errors')
    // Usage errors are reported by run(), as one line (and a JSON line with --json); set before the commands, which copy it.
    .configureOutput({ outputError: () => {} })
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
  stopOnClosedPipe()
  let exitCode: number = ExitCode.OK
  const program = buildProgram((code) => {
    exitCode = code
  })
  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (error) {
    // Help and version end here with code 0.
    if (error instanceof CommanderError && error.exitCode === 0) return ExitCode.OK
    // A usage mistake, or an error no command caught (such as a working directory that was removed): reported as any other.
    const options = program.opts<GlobalOptions>()
    const output = createOutput({ json: options.json === true || wantsJson(argv), verbose: options.verbose === true })
    return output.fail(error instanceof CommanderError ? usageErrorOf(error, argv, program.commands.map((command) => command.name())) : error)
  }
  return exitCode
}
