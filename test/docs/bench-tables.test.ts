import { describe, expect, it } from 'vitest'
import { benchTables, benchTablesMarkdown } from './bench-tables.js'

const results = `# Benchmark results

Intro | not a table row, since it does not start with a bar.

## Reference server

### Refresh throughput

| clients | refreshes/s |
| ---: | ---: |
| 1 | 80 |

Prose between tables.

| clients | p95 ms |
| ---: | ---: |
| 1 | 23.7 |

## Agent runtime

| managers | KB each |
| ---: | ---: |
| 10000 | 3.5 |
`

describe('benchTables', () => {
  it('finds each table with the headings it sits under, the deeper heading replaced when a new section starts', () => {
    expect(benchTables(results)).toEqual([
      { headings: ['Reference server', 'Refresh throughput'], lines: ['| clients | refreshes/s |', '| ---: | ---: |', '| 1 | 80 |'] },
      { headings: ['Reference server', 'Refresh throughput'], lines: ['| clients | p95 ms |', '| ---: | ---: |', '| 1 | 23.7 |'] },
      { headings: ['Agent runtime'], lines: ['| managers | KB each |', '| ---: | ---: |', '| 10000 | 3.5 |'] },
    ])
  })

  it('renders the tables as they are, each under a bold title made of its headings', () => {
    expect(benchTablesMarkdown(results)).toBe(
      [
        '**Reference server — Refresh throughput**',
        '',
        '| clients | refreshes/s |\n| ---: | ---: |\n| 1 | 80 |',
        '',
        '**Reference server — Refresh throughput**',
        '',
        '| clients | p95 ms |\n| ---: | ---: |\n| 1 | 23.7 |',
        '',
        '**Agent runtime**',
        '',
        '| managers | KB each |\n| ---: | ---: |\n| 10000 | 3.5 |',
      ].join('\n'),
    )
  })

  it('finds no table in a file without one', () => {
    expect(benchTables('# Results\n\nNothing measured yet.\n')).toEqual([])
  })
})
