/**
 * The README's table of `countersign serve` flags against what the command
 * itself prints in `countersign serve --help`: the same flags, in the same
 * order, with the same defaults.
 */
import { readFile } from 'node:fs/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/process.js'
import { README } from './readme-blocks.js'

interface Flag {
  name: string
  /** The default as the help or the table states it, or null when it states none. */
  default: string | null
}

/** The options of a commander help text, continuation lines joined, `--help` left out. */
function helpFlags(help: string): Flag[] {
  const section = help.split(/^Options:$/m)[1]?.split(/^\S.*:$/m)[0] ?? ''
  const entries: string[] = []
  for (const line of section.split('\n')) {
    if (/^ {2}-/.test(line)) entries.push(line.trim())
    else if (line.trim() !== '' && entries.length > 0) entries[entries.length - 1] += ` ${line.trim()}`
  }
  return entries
    .map((entry) => {
      const name = /--[a-z][a-z-]*/.exec(entry)![0]
      const stated = /\(default:? "?([^",)]+)"?[,)]/.exec(entry)
      return { name, default: stated ? stated[1]! : null }
    })
    .filter((flag) => flag.name !== '--help')
}

/** The rows of the first table headed `| flag | default | meaning |` after the README heading `heading`. */
function tableFlags(readme: string, heading: string): Flag[] {
  const section = readme.split(`\n${heading}\n`)[1]
  if (section === undefined) throw new Error(`README.md has no heading "${heading}"`)
  const table = section.split('\n| flag | default | meaning |\n')[1]
  if (table === undefined) throw new Error(`README.md has no flag table under "${heading}"`)
  // Past the `| --- |` line, up to the first line that is not a row.
  const lines = table.split('\n').slice(1)
  const end = lines.findIndex((line) => !line.startsWith('|'))
  return lines.slice(0, end === -1 ? lines.length : end).map((row) => {
    const [flag = '', stated = ''] = row.split('|').slice(1).map((cell) => cell.trim())
    const name = /^`(--[a-z][a-z-]*)/.exec(flag)
    if (!name) throw new Error(`the README row ${row} does not start with a flag in backticks`)
    const literal = /^`([^`]+)`$/.exec(stated)
    return { name: name[1]!, default: literal ? literal[1]! : null }
  })
}

describe("the README's countersign serve flag table", () => {
  let fromHelp: Flag[]
  let fromReadme: Flag[]

  beforeAll(async () => {
    const result = await runCli(['serve', '--help'])
    expect(result.code).toBe(0)
    fromHelp = helpFlags(result.stdout)
    fromReadme = tableFlags(await readFile(README, 'utf8'), '## The reference approval server')
  })

  it('lists exactly the flags `countersign serve --help` prints, in its order', () => {
    expect(fromHelp.length).toBeGreaterThanOrEqual(12)
    expect(fromReadme.map((flag) => flag.name)).toEqual(fromHelp.map((flag) => flag.name))
  })

  it('gives each flag the default the help states', () => {
    const stated = fromHelp.filter((flag) => flag.default !== null)
    expect(stated.length).toBeGreaterThanOrEqual(10)
    for (const flag of stated) expect(fromReadme.find((row) => row.name === flag.name)?.default, flag.name).toBe(flag.default)
  })
})
