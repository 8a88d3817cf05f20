/**
 * The result tables of bench/RESULTS.md, each with the headings it sits
 * under, as the README quotes them (test/docs/readme-blocks.ts). Quoted, not
 * retyped: test/docs/readme.test.ts fails when the README's copy differs
 * from the file, so a new run of a benchmark cannot leave stale figures.
 */

export interface BenchTable {
  /** The `##` and `###` headings above the table, outermost first. */
  headings: string[]
  /** The table's lines, header and separator included. */
  lines: string[]
}

export function benchTables(results: string): BenchTable[] {
  const tables: BenchTable[] = []
  const headings: string[] = []
  let current: BenchTable | null = null
  for (const line of results.split('\n')) {
    const heading = /^(#{2,3}) (.+)$/.exec(line)
    if (heading) {
      headings.length = heading[1]!.length - 2
      headings.push(heading[2]!.trim())
    }
    if (line.startsWith('|')) {
      if (current === null) tables.push((current = { headings: [...headings], lines: [] }))
      current.lines.push(line)
    } else {
      current = null
    }
  }
  return tables
}

/** The tables as README markdown: a bold title from the headings, then the table as it is in RESULTS.md. */
export function benchTablesMarkdown(results: string): string {
  return benchTables(results)
    .map((table) => `**${table.headings.join(' — ')}**\n\n${table.lines.join('\n')}`)
    .join('\n\n')
}
