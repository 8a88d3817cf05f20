import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { describe, expect, it } from 'vitest'
import { runExample } from './support.js'

const fleetFolders = async () => (await readdir(tmpdir())).filter((name) => name.startsWith('countersign-fleet-'))

describe('examples/worker-fleet.ts', () => {
  // The example starts its own reference server and approves through its owner API: nothing to approve here.
  it('signs in every agent of the fleet, sees each refresh on its own, checks every token at the server, and cleans up', async () => {
    const before = await fleetFolders()
    const fleet = runExample('worker-fleet', { FLEET_ACCESS_TTL: '3' }, ['40'])
    expect(await fleet.exited).toEqual({ code: 0, signal: null })
    expect(fleet.stdout()).toMatch(/^40 agents signed in in \d+\.\d s; waiting for each to refresh$/m)
    expect(fleet.stdout()).toMatch(/^fleet: 40 agents signed in, 40 refreshed, 40 answered \/api\/agent\/me$/m)
    expect(fleet.stderr()).toBe('')
    expect(await fleetFolders()).toEqual(before)
  })

  it('refuses a fleet size that is not a positive integer', async () => {
    const fleet = runExample('worker-fleet', {}, ['none'])
    expect(await fleet.exited).toEqual({ code: 1, signal: null })
    expect(fleet.stderr()).toContain('TypeError: the fleet size must be a positive integer')
  })
})
