/**
 * How the CLI speaks: human lines or JSON lines (`--json`), and one clear line
 * per error (the stack only with `--verbose`). Nothing printed here may carry
 * a secret; callers pass redacted values.
 */
import { CountersignError, ErrorCodes } from '../errors.js'
import type { CliEventFields, CliEventType } from './events.js'
import { ExitCode, type ExitCodeValue } from './exit-codes.js'
import { UsageError } from './usage.js'

export interface OutputOptions {
  json?: boolean
  verbose?: boolean
}

export interface Output {
  readonly json: boolean
  /** A human line (suppressed in JSON mode). */
  line(text: string): void
  /** A JSON event line in JSON mode (a type listed in events.ts); a human line otherwise. */
  event<T extends Exclude<CliEventType, 'error'>>(type: T, fields: CliEventFields<T>, human: string): void
  /** A human line on stderr, for commands whose stdout is data (suppressed in JSON mode). */
  note(text: string): void
  /** One line of data on stdout, in both modes (`countersign token`). */
  data(text: string): void
  /** The streams written to, for spinners and QR codes. */
  readonly streams: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }
  /** Reports an error once and gives the exit code it maps to. */
  fail(error: unknown): ExitCodeValue
}

export function createOutput(options: OutputOptions, streams: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Output {
  const json = options.json === true
  return {
    json,
    streams,
    note(text) {
      if (!json) streams.err.write(`${text}\n`)
    },
    data(text) {
      streams.out.write(`${text}\n`)
    },
    line(text) {
      if (!json) streams.out.write(`${text}\n`)
    },
    event(type, fields, human) {
      if (json) streams.out.write(`${JSON.stringify({ type, ...fields })}\n`)
      else streams.out.write(`${human}\n`)
    },
    fail(error) {
      const code = exitCodeOf(error)
      const message = error instanceof Error ? error.message : String(error)
      if (json) {
        const errorCode = error instanceof CountersignError ? error.code : isUsage(error) ? 'usage' : 'error'
        const type: CliEventType = 'error'
        streams.out.write(`${JSON.stringify({ type, code: errorCode, message, exitCode: code })}\n`)
      }
      streams.err.write(`countersign: ${message}\n`)
      if (options.verbose && error instanceof Error && error.stack) streams.err.write(`${error.stack}\n`)
      return code
    },
  }
}

/**
 * A mistake on the command line or in the environment it reads: the CLI's
 * checks and commander's throw UsageError. Any other error, a TypeError
 * included (a programming mistake, undici's "fetch failed"), is a failure.
 */
function isUsage(error: unknown): boolean {
  return error instanceof UsageError
}

export function exitCodeOf(error: unknown): ExitCodeValue {
  if (isUsage(error)) return ExitCode.USAGE
  // Anything else, a port in use (EADDRINUSE) included, is a failure without a more specific code.
  if (!(error instanceof CountersignError)) return ExitCode.FAILURE
  switch (error.code) {
    case ErrorCodes.NOT_AUTHENTICATED:
    case ErrorCodes.TOKEN_REFRESH_FAILED:
    case ErrorCodes.REVOKED:
      return ExitCode.NO_SESSION
    case ErrorCodes.APPROVAL_DENIED:
    case ErrorCodes.APPROVAL_EXPIRED:
    case ErrorCodes.APPROVAL_TIMEOUT:
      return ExitCode.APPROVAL_FAILED
    case ErrorCodes.NETWORK_ERROR:
      return ExitCode.UNREACHABLE
    case ErrorCodes.CORRUPT_FILE:
    case ErrorCodes.FILE_LOCKED:
      return ExitCode.FILE_ERROR
    case ErrorCodes.ABORTED:
      return ExitCode.INTERRUPTED
    default:
      return ExitCode.FAILURE
  }
}
