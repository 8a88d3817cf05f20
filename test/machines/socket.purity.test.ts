import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const dir = fileURLToPath(new URL('../../machines/', import.meta.url))
const files = readdirSync(dir).filter((name) => /^socket.*\.ts$/.test(name))

describe('machines/socket is pure', () => {
  it('has its files', () => {
    expect(files).toEqual(expect.arrayContaining(['socket.ts', 'socket.policy.ts', 'socket.context.ts', 'socket.types.ts']))
  })

  it.each(files)('%s imports only xstate, its sibling socket files, and types', (name) => {
    const source = readFileSync(dir + name, 'utf8')
    const valueImports = [...source.matchAll(/^(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1])
    expect(valueImports.filter((from) => from !== 'xstate' && !/^\.\/socket[\w.]*\.js$/.test(from!))).toEqual([])
  })

  it.each(files)('%s reads no clock, randomness or timers', (name) => {
    const source = readFileSync(dir + name, 'utf8')
    expect(source).not.toMatch(/Date\.now|new Date\(|Math\.random|setTimeout|setInterval|performance\.now|\bafter:/)
  })
})
