import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { benchTables } from './bench-tables.js'
import { BENCH_RESULTS, README, UPDATE_COMMAND, anchorOf, blockIn, blockNames, expectedBlock } from './readme-blocks.js'

const root = dirname(README)

describe('README.md', () => {
  let readme: string

  beforeAll(async () => {
    readme = await readFile(README, 'utf8')
  })

  it.each(blockNames)('carries the %s block exactly as it is generated now', async (name) => {
    const current = blockIn(readme, name)
    expect(current, `README.md has no <!-- ${name}:start --> ... <!-- ${name}:end --> markers`).not.toBeNull()
    expect(current, `README.md's ${name} block is stale: run \`${UPDATE_COMMAND}\``).toBe(await expectedBlock(name, readme))
  })

  it('quotes every result table of bench/RESULTS.md', async () => {
    const tables = benchTables(await readFile(BENCH_RESULTS, 'utf8'))
    expect(tables.length).toBeGreaterThan(0)
    for (const table of tables) expect(readme).toContain(table.lines.join('\n'))
  })

  it('keeps the two commands a newcomer runs, verbatim', () => {
    expect(readme).toContain('```sh\nnpm install && npm start\n```')
    expect(readme).toContain('```sh\nnpm install && npm test\n```')
  })

  it('links only to headings and files that exist', () => {
    const prose = readme.replace(/```[\s\S]*?```/g, '')
    const headings = new Set([...prose.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1]!.trim())))
    const links = [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!)
    expect(links.length).toBeGreaterThan(10)
    for (const link of links) {
      if (/^https?:/.test(link)) continue
      if (link.startsWith('#')) expect(headings, `no heading for the link ${link}`).toContain(link.slice(1))
      else expect(existsSync(join(root, link.split('#')[0]!)), `no file for the link ${link}`).toBe(true)
    }
  })

  it('lists every example in examples/', async () => {
    const examples = (await readdir(join(root, 'examples'))).filter((name) => name.endsWith('.ts'))
    expect(examples.length).toBeGreaterThanOrEqual(5)
    for (const example of examples) expect(readme).toContain(`[${example}](examples/${example})`)
  })
})
