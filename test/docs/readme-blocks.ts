/**
 * The README's generated blocks, each between `<!-- name:start ... -->` and
 * `<!-- name:end -->` markers: the contents line made from the README's own
 * sections, the lifecycle diagrams drawn from machines/, the CLI's JSON
 * events listed from src/cli/events.ts, and the benchmark tables quoted from
 * bench/RESULTS.md. Everything outside the markers is
 * written by hand.
 *
 *   node --import tsx test/docs/readme-blocks.ts          # print the blocks
 *   node --import tsx test/docs/readme-blocks.ts --write  # rewrite them in README.md
 */
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { benchTablesMarkdown } from './bench-tables.js'
import { diagrams, lifecycleDiagram } from './lifecycle-diagram.js'
import { CLI_EVENTS } from '../../src/cli/events.js'

export const README = fileURLToPath(new URL('../../README.md', import.meta.url))
export const BENCH_RESULTS = fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url))
export const UPDATE_COMMAND = 'node --import tsx test/docs/readme-blocks.ts --write'

export type BlockName = 'contents' | keyof typeof diagrams | 'cli-events' | 'bench-results'
export const blockNames: BlockName[] = ['contents', ...(Object.keys(diagrams) as (keyof typeof diagrams)[]), 'cli-events', 'bench-results']

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
export const anchorOf = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- ]/gu, '')
    .replace(/ /g, '-')

/** The `##` sections of a markdown text, code blocks left out. */
export function sectionsOf(markdown: string): string[] {
  return [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^## (.+)$/gm)].map((match) => match[1]!.trim())
}

async function contentOf(name: BlockName, readme: string): Promise<string> {
  if (name === 'contents') return `Contents: ${sectionsOf(readme).map((title) => `[${title}](#${anchorOf(title)})`).join(' · ')}`
  if (name === 'bench-results') return benchTablesMarkdown(await readFile(BENCH_RESULTS, 'utf8'))
  if (name === 'cli-events') return cliEventsTable()
  return ['```mermaid', lifecycleDiagram(diagrams[name]), '```'].join('\n')
}

const sources: Record<BlockName, string> = {
  contents: "the README's sections",
  'auth-lifecycle': 'machines/auth.ts',
  'socket-lifecycle': 'machines/socket.ts',
  'cli-events': 'src/cli/events.ts',
  'bench-results': 'bench/RESULTS.md',
}

/** One row per JSON event type of the CLI: who prints it, and its fields (by command where they differ). */
function cliEventsTable(): string {
  const code = (names: readonly string[]) => names.map((name) => `\`${name}\``).join(', ')
  const rows = Object.entries(CLI_EVENTS).map(([type, shapes]) => {
    const entries = Object.entries(shapes as Record<string, readonly string[]>)
    const fields = entries.length === 1 ? code(entries[0]![1]) : entries.map(([by, names]) => `${by}: ${code(names)}`).join('; ')
    return `| \`${type}\` | ${entries.map(([by]) => by).join('; ')} | ${fields} |`
  })
  return ['| `type` | printed by | other fields |', '| --- | --- | --- |', ...rows].join('\n')
}

/** A block as it must stand in `readme`, markers included. */
export async function expectedBlock(name: BlockName, readme: string): Promise<string> {
  return `<!-- ${name}:start: generated from ${sources[name]} by test/docs/readme-blocks.ts, do not edit by hand -->\n${await contentOf(name, readme)}\n<!-- ${name}:end -->`
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
      const block = await expectedBlock(name, readme)
      readme = readme.replace(blockPattern(name), () => block)
    }
    await writeFile(README, readme)
  } else {
    const readme = await readFile(README, 'utf8')
    for (const name of blockNames) console.log(`${await expectedBlock(name, readme)}\n`)
  }
}
