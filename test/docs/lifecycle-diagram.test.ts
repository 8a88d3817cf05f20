import { setup } from 'xstate'
import { describe, expect, it } from 'vitest'
import { authMachine } from '../../machines/auth.js'
import { liveSocketMachine } from '../../machines/socket.js'
import { lifecycleDiagram } from './lifecycle-diagram.js'

const never = () => false

/** A small machine with each shape the drawing handles. */
const sample = setup({
  types: { events: {} as { type: 'GO' } | { type: 'STOP' } | { type: 'RESET' } | { type: 'PING' } },
  guards: { isReady: never, isLate: never },
}).createMachine({
  id: 'sample',
  initial: 'idle',
  on: { RESET: '.idle' },
  states: {
    idle: { on: { GO: [{ guard: 'isReady', target: 'busy' }, { target: 'waiting' }] } },
    waiting: { on: { GO: 'busy' } },
    busy: {
      initial: 'working',
      on: { STOP: 'done' },
      states: {
        working: { on: { PING: [{ guard: 'isLate', target: '#sample.done' }, { target: 'working', reenter: true }] } },
      },
    },
    both: {
      type: 'parallel',
      states: {
        left: { initial: 'a', states: { a: {} } },
        right: { initial: 'b', states: { b: {} } },
      },
    },
    done: { type: 'final' },
  },
})

describe('lifecycleDiagram', () => {
  it('draws states, nesting, parallel regions, final states and guarded arrows as Mermaid stateDiagram-v2', () => {
    expect(lifecycleDiagram(sample)).toBe(
      [
        'stateDiagram-v2',
        '  state "(any state)" as anyState',
        '  [*] --> idle',
        '  state busy {',
        '    [*] --> busy_working',
        '    state "working" as busy_working',
        '    busy_working --> busy_working : PING [else]',
        '  }',
        '  state both {',
        '    state "left" as both_left {',
        '      [*] --> both_left_a',
        '      state "a" as both_left_a',
        '    }',
        '    --',
        '    state "right" as both_right {',
        '      [*] --> both_right_b',
        '      state "b" as both_right_b',
        '    }',
        '  }',
        '  done --> [*]',
        '  anyState --> idle : RESET',
        '  idle --> busy : GO [isReady]',
        '  idle --> waiting : GO [else]',
        '  waiting --> busy : GO',
        '  busy --> done : STOP, PING [isLate]',
      ].join('\n'),
    )
  })

  it('draws every state of the auth and socket machines, each arrow between boxes Mermaid can join', () => {
    for (const machine of [authMachine, liveSocketMachine]) {
      const diagram = lifecycleDiagram(machine)
      const stateIds = (node: { path: string[]; states: Record<string, unknown> }): string[] => [
        ...(node.path.length ? [node.path.join('_')] : []),
        ...Object.values(node.states).flatMap((child) => stateIds(child as typeof node)),
      ]
      for (const id of stateIds(machine.root as never)) expect(diagram).toMatch(new RegExp(`(^|[\\s"])${id}( |$)`, 'm'))
      // Arrows are drawn inside the box of their nearest common parent, so no arrow names a state two levels apart.
      for (const [, from, to] of diagram.matchAll(/^\s*(\S+) --> (\S+) :/gm)) {
        const depth = (id: string) => (id === 'anyState' ? 0 : id.split('_').length - 1)
        expect(Math.abs(depth(from!) - depth(to!)), `${from} --> ${to}`).toBeLessThanOrEqual(0)
      }
    }
  })

  it('names effects by their actor, and keeps the events callers send', () => {
    const diagram = lifecycleDiagram(authMachine)
    for (const label of ['REGISTER', 'WAIT', 'REFRESH', 'REVOKE', 'poll done [isApproved]', 'refreshTokens error [isTransientWhileRefreshTokenLives]', 'approvalExpiry done']) {
      expect(diagram).toContain(label)
    }
    expect(diagram).not.toMatch(/xstate\.|actor\.\d/)
  })
})
