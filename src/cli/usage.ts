/**
 * Command-line mistakes, reported as every CLI error is: one line on stderr,
 * `countersign: <what was wrong> (run "countersign <command> --help" for
 * usage)`, with --json also an error line on stdout (code "usage"), and exit
 * code 2. Commander's own error output is switched off (see buildProgram).
 */
import type { CommanderError } from 'commander'

/** A mistake on the command line or in the environment it reads: exit code 2, JSON code "usage". */
export class UsageError extends Error {
  override name = 'UsageError'
}

/**
 * The UsageError for a failed parse. A missing command has already had the
 * help printed on stderr (commander's `help({ error: true })`).
 */
export function usageErrorOf(error: CommanderError, argv: string[], commands: string[]): UsageError {
  if (error.code === 'commander.help') return new UsageError('no command given (run "countersign --help" for usage)')
  // Commander says "error: option '--port <port>' argument 'x' is invalid. <the parser's message>"; the parser's
  // message names the option and the value already. Dropping the prefix also keeps a refused value off the
  // terminal when a parser chose not to repeat it.
  const what = error.message.replace(/^error: /, '').replace(/^option '[^']*' argument '[\s\S]*' is invalid\. /, '')
  const command = commandOf(argv, commands)
  return new UsageError(`${what} (run "countersign${command === null ? '' : ` ${command}`} --help" for usage)`)
}

/** The command named on the command line: the first word that is not an option (global options take no value). */
function commandOf(argv: string[], commands: string[]): string | null {
  const word = argv.find((arg) => !arg.startsWith('-'))
  return word !== undefined && commands.includes(word) ? word : null
}

/** Whether --json was asked for, read from the words themselves: a failed parse may not have stored it. */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json')
}
