/**
 * No import cycle anywhere in src/, machines/ or stores/, type-only imports
 * included: a cycle means two modules that cannot be read, changed or tested
 * one without the other.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function sources(folder: string): string[] {
  const found: string[] = []
  for (const name of readdirSync(folder)) {
    const path = join(folder, name)
    if (statSync(path).isDirectory()) found.push(...sources(path))
    else if (name.endsWith('.ts')) found.push(path)
  }
  return found
}

/** The relative modules a file imports or re-exports statically, as absolute .ts paths. */
export function importsOf(path: string, text: string): string[] {
  const targets: string[] = []
  for (const match of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    targets.push(resolve(dirname(path), match[1]!).replace(/\.js$/, '.ts'))
  }
  return targets
}

/** The cycles of a graph: its strongly connected components of more than one node, or a node importing itself. */
export function cyclesOf(graph: Map<string, string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  const visit = (node: string) => {
    index.set(node, next)
    low.set(node, next++)
    stack.push(node)
    onStack.add(node)
    for (const target of graph.get(node) ?? []) {
      if (!graph.has(target)) continue
      if (!index.has(target)) {
        visit(target)
        low.set(node, Math.min(low.get(node)!, low.get(target)!))
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node)!, index.get(target)!))
    }
    if (low.get(node) !== index.get(node)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== node)
    if (component.length > 1 || graph.get(node)!.includes(node)) cycles.push(component.sort())
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return cycles
}

describe('the import graph', () => {
  it('finds a cycle when there is one (the check itself works)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ])
    expect(cyclesOf(graph)).toEqual([['a', 'b', 'c']])
    expect(importsOf('/x/a.ts', "import type { T } from './b.js'\nexport { u } from '../c.js'\nimport './side.js'")).toEqual(['/x/b.ts', '/c.ts'])
  })

  it('has no cycle in src/, machines/ or stores/, type-only imports included', () => {
    const graph = new Map<string, string[]>()
    for (const folder of ['src', 'machines', 'stores']) {
      for (const path of sources(join(root, folder))) graph.set(path, importsOf(path, readFileSync(path, 'utf8')))
    }
    expect(graph.size).toBeGreaterThan(50)
    expect(cyclesOf(graph).map((cycle) => cycle.map((path) => relative(root, path)))).toEqual([])
  })
})
