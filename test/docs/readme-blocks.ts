/**
 * The README's generated blocks, each between `<!-- name:start ... -->` and
 * `<!-- name:end -->` markers: the lifecycle diagrams drawn from machines/,
 * and the benchmark tables quoted from bench/RESULTS.md. Everything outside
 * the markers is written by hand.
 *
 *   node --import tsx test/docs/readme-blocks.ts          # print the blocks
 *   node --import tsx test/docs/readme-blocks.ts --write  # rewrite them in README.md
 */
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { benchTablesMarkdown } from './bench-tables.js'
import { diagrams, lifecycleDiagram } from './lifecycle-diagram.js'

export const README = fileURLToPath(new URL('../../README.md', import.meta.url))
export const BENCH_RESULTS = fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url))
export const UPDATE_COMMAND = 'node --import tsx test/docs/readme-blocks.ts --write'

export type BlockName = keyof typeof diagrams | 'bench-results'
export const blockNames: BlockName[] = [...(Object.keys(diagrams) as (keyof typeof diagrams)[]), 'bench-results']

async function contentOf(name: BlockName): Promise<string> {
  if (name === 'bench-results') return benchTablesMarkdown(await readFile(BENCH_RESULTS, 'utf8'))
  return ['```mermaid', lifecycleDiagram(diagrams[name]), '```'].join('\n')
}

const source = (name: BlockName) => (name === 'bench-results' ? 'bench/RESULTS.md' : 'machines/')

/** A block as it must stand in the README, markers included. */
export async function expectedBlock(name: BlockName): Promise<string> {
  return `<!-- ${name}:start: generated from ${source(name)} by test/docs/readme-blocks.ts, do not edit by hand -->\n${await contentOf(name)}\n<!-- ${name}:end -->`
}

const blockPattern = (name: string) => new RegExp(`<!-- ${name}:start[^\\n]*-->\\n[\\s\\S]*?<!-- ${name}:end -->`)

/** The README's current block, markers included, or null when its markers are missing. */
export function blockIn(readme: string, name: BlockName): string | null {
  return blockPattern(name).exec(readme)?.[0] ?? null
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write')) {
    let readme = await readFile(README, 'utf8')
    for (const name of blockNames) {
      if (blockIn(readme, name) === null) throw new Error(`README.md has no <!-- ${name}:start --> ... <!-- ${name}:end --> markers to write between`)
      const block = await expectedBlock(name)
      readme = readme.replace(blockPattern(name), () => block)
    }
    await writeFile(README, readme)
  } else {
    for (const name of blockNames) console.log(`${await expectedBlock(name)}\n`)
  }
}
