/**
 * Exit codes of the countersign CLI, documented in the README. Scripts may
 * branch on them; they do not change between versions.
 */
export const ExitCode = {
  OK: 0,
  /** Any failure without a more specific code. */
  FAILURE: 1,
  /** The command line was wrong: unknown command or option, bad value. */
  USAGE: 2,
  /** There is no session in the store, or it has ended: log in again. */
  NO_SESSION: 3,
  /** The approval was denied, expired, or the wait timed out. */
  APPROVAL_FAILED: 4,
  /** The server could not be reached or answered with a server error. */
  UNREACHABLE: 5,
  /** A file could not be used: corrupt, locked by another process, unwritable. */
  FILE_ERROR: 6,
  /** Stopped by SIGINT (Ctrl-C) during a wait. */
  INTERRUPTED: 130,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]
