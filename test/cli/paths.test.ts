import { describe, expect, it } from 'vitest'
import { defaultStorePath } from '../../src/cli/paths.js'

describe('the default store path', () => {
  it('is under $XDG_DATA_HOME on Linux when it is set to an absolute path', () => {
    expect(defaultStorePath('linux', { XDG_DATA_HOME: '/data/ada' }, '/home/ada')).toBe('/data/ada/countersign/session.json')
  })

  it('falls back to ~/.local/share on Linux when XDG_DATA_HOME is unset or relative, as the XDG spec says', () => {
    expect(defaultStorePath('linux', {}, '/home/ada')).toBe('/home/ada/.local/share/countersign/session.json')
    expect(defaultStorePath('freebsd', { XDG_DATA_HOME: 'relative/dir' }, '/home/ada')).toBe('/home/ada/.local/share/countersign/session.json')
  })

  it('is under Application Support on macOS', () => {
    expect(defaultStorePath('darwin', { XDG_DATA_HOME: '/ignored' }, '/Users/ada')).toBe('/Users/ada/Library/Application Support/countersign/session.json')
  })

  it('is under %APPDATA% on Windows, or the roaming profile folder without it', () => {
    expect(defaultStorePath('win32', { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, 'C:\\Users\\ada')).toBe('C:\\Users\\ada\\AppData\\Roaming\\countersign\\session.json')
    expect(defaultStorePath('win32', {}, 'C:\\Users\\ada')).toBe('C:\\Users\\ada\\AppData\\Roaming\\countersign\\session.json')
  })
})
