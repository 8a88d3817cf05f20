/**
 * Where the CLI keeps an agent's session when `--store` is not given: the
 * operating system's data directory for countersign.
 */
import { homedir } from 'node:os'
import { posix, win32 } from 'node:path'

export const STORE_FILE = 'session.json'

/**
 * - Linux and other Unix: `$XDG_DATA_HOME/countersign/session.json`, or
 *   `~/.local/share/countersign/session.json` (XDG Base Directory spec).
 * - macOS: `~/Library/Application Support/countersign/session.json`.
 * - Windows: `%APPDATA%\countersign\session.json`.
 */
export function defaultStorePath(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  if (platform === 'win32') {
    const appData = env.APPDATA && win32.isAbsolute(env.APPDATA) ? env.APPDATA : win32.join(home, 'AppData', 'Roaming')
    return win32.join(appData, 'countersign', STORE_FILE)
  }
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'countersign', STORE_FILE)
  // The spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const dataHome = env.XDG_DATA_HOME && posix.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : posix.join(home, '.local', 'share')
  return posix.join(dataHome, 'countersign', STORE_FILE)
}
