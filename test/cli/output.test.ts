/**
 * How an error maps to the CLI's exit code and JSON code: a command-line
 * mistake (UsageError) is a usage error, exit 2; any other error, a TypeError
 * included, is a failure (exit 1, or the code of the runtime's error).
 */
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { CountersignError, ErrorCodes } from '../../src/errors.js'
import { ExitCode } from '../../src/cli/exit-codes.js'
import { createOutput, exitCodeOf } from '../../src/cli/output.js'
import { UsageError } from '../../src/cli/usage.js'

function failed(error: unknown): { exitCode: number; stdout: string; stderr: string } {
  const out = new PassThrough()
  const err = new PassThrough()
  const exitCode = createOutput({ json: true }, { out, err }).fail(error)
  return { exitCode, stdout: String(out.read() ?? ''), stderr: String(err.read() ?? '') }
}

describe('the exit code and JSON code of an error', () => {
  it('a UsageError is a usage error: exit 2, code usage', () => {
    expect(failed(new UsageError('--port must be a whole number'))).toEqual({
      exitCode: ExitCode.USAGE,
      stdout: `${JSON.stringify({ type: 'error', code: 'usage', message: '--port must be a whole number', exitCode: 2 })}\n`,
      stderr: 'countersign: --port must be a whole number\n',
    })
  })

  it("undici's TypeError of a fetch that got no answer is a failure, not a usage error", () => {
    const error = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) })
    expect(failed(error)).toEqual({
      exitCode: ExitCode.FAILURE,
      stdout: `${JSON.stringify({ type: 'error', code: 'error', message: 'fetch failed', exitCode: 1 })}\n`,
      stderr: 'countersign: fetch failed\n',
    })
  })

  it('a programming mistake (any other TypeError) is a failure', () => {
    expect(exitCodeOf(new TypeError("Cannot read properties of undefined (reading 'state')"))).toBe(ExitCode.FAILURE)
  })

  it("the runtime's errors keep their codes", () => {
    expect(exitCodeOf(new CountersignError(ErrorCodes.NETWORK_ERROR, 'down'))).toBe(ExitCode.UNREACHABLE)
    expect(failed(new CountersignError(ErrorCodes.NOT_AUTHENTICATED, 'no session')).stdout).toBe(`${JSON.stringify({ type: 'error', code: 'not_authenticated', message: 'no session', exitCode: 3 })}\n`)
  })
})
