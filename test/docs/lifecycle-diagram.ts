/**
 * Draws a statechart as a Mermaid `stateDiagram-v2` from the machine
 * definition itself, so the README's picture of a lifecycle cannot drift from
 * the code (test/docs/readme-blocks.ts writes it into README.md, and
 * test/docs/readme.test.ts checks it is still what this draws).
 *
 * Mermaid cannot draw a transition between states nested in different
 * composite states, so each transition is drawn between the children of the
 * two states' closest common ancestor (a transition out of `requesting`, deep
 * in `starting`, leaves the `starting` box). Transitions between the same two
 * boxes share one arrow whose label lists them: the event (an effect's result
 * is `<effect> done` or `<effect> error`), and in brackets the guards where
 * they decide between arrows (`else`: the unguarded fallback). Transitions
 * without a target (actions only) are left out; events the root handles are
 * drawn from an `(any state)` box.
 */
import type { AnyStateMachine } from 'xstate'
import { authMachine } from '../../machines/auth.js'
import { liveSocketMachine } from '../../machines/socket.js'

/** The part of xstate's StateNode the drawing reads. */
interface Node {
  key: string
  path: string[]
  type: string
  parent?: Node
  states: Record<string, Node>
  initial?: { target: readonly Node[] }
  invoke: readonly { id: string; src: unknown }[]
  transitions: Map<string, readonly Transition[]>
  always?: readonly Transition[]
}

interface Transition {
  target?: readonly Node[]
  guard?: unknown
  reenter?: boolean
}

/** The diagrams the README carries, each between its own markers. */
export const diagrams = {
  'auth-lifecycle': authMachine,
  'socket-lifecycle': liveSocketMachine,
} satisfies Record<string, AnyStateMachine>

export type DiagramName = keyof typeof diagrams

export function lifecycleDiagram(machine: AnyStateMachine): string {
  const root = machine.root as unknown as Node
  const lines = ['stateDiagram-v2']
  const edges = collectEdges(root)
  if (root.transitions.size > 0) lines.push(`  state "${ANY_STATE_LABEL}" as ${ANY_STATE}`)
  drawChildren(root, edges, lines, '  ')
  return lines.join('\n')
}

/** Events the root handles are accepted in every state: drawn from one stand-in box. */
const ANY_STATE = 'anyState'
const ANY_STATE_LABEL = '(any state)'

/** Mermaid needs ids unique across the whole diagram: nested states are named by their path. */
const idOf = (node: Node) => (node.path.length === 0 ? ANY_STATE : node.path.join('_'))

/** Arrows drawn in one box: `source --> target` → event name → the guards shown (null: none). */
type Arrows = Map<string, Map<string, string[] | null>>

function drawChildren(node: Node, edges: Map<Node, Arrows>, lines: string[], indent: string): void {
  const initial = node.initial?.target[0]
  if (initial) lines.push(`${indent}[*] --> ${idOf(initial)}`)
  const children = Object.values(node.states)
  children.forEach((child, index) => {
    // The regions of a parallel state run at once; Mermaid separates them with `--`.
    if (node.type === 'parallel' && index > 0) lines.push(`${indent}--`)
    const id = idOf(child)
    const label = child.key === id ? '' : `"${child.key}" as `
    if (Object.keys(child.states).length === 0) {
      if (label) lines.push(`${indent}state ${label}${id}`)
      if (child.type === 'final') lines.push(`${indent}${id} --> [*]`)
      return
    }
    lines.push(`${indent}state ${label}${id} {`)
    drawChildren(child, edges, lines, `${indent}  `)
    lines.push(`${indent}}`)
  })
  for (const [pair, events] of edges.get(node) ?? []) {
    const labels = [...events].map(([event, guards]) => (guards === null ? event : `${event} [${guards.join(' / ')}]`))
    lines.push(`${indent}${pair} : ${labels.join(', ')}`)
  }
}

/**
 * Arrows grouped by the box they are drawn in, in definition order. Guards
 * are shown only where they decide between arrows: when every transition of
 * an event from a state ends on the same arrow, the arrow is the whole story.
 */
function collectEdges(root: Node): Map<Node, Arrows> {
  const edges = new Map<Node, Arrows>()
  const visit = (node: Node) => {
    const all: [string, readonly Transition[]][] = [...node.transitions]
    if (node.always?.length) all.push(['always', node.always])
    for (const [event, transitions] of all) {
      const arrows = transitions.map((transition) => {
        const target = transition.target?.[0]
        if (!target) return null
        const [owner, from, to] = boxes(node, target)
        return { owner, pair: `${idOf(from)} --> ${idOf(to)}`, guard: guardName(transition.guard) ?? 'else' }
      })
      const oneArrow = arrows.every((arrow) => arrow !== null && arrow.pair === arrows[0]!.pair && arrow.owner === arrows[0]!.owner)
      const name = eventName(node, event)
      for (const arrow of arrows) {
        if (arrow === null) continue
        const inBox = edges.get(arrow.owner) ?? new Map<string, Map<string, string[] | null>>()
        edges.set(arrow.owner, inBox)
        const events = inBox.get(arrow.pair) ?? new Map<string, string[] | null>()
        inBox.set(arrow.pair, events)
        if (oneArrow) {
          if (!events.has(name)) events.set(name, null)
          continue
        }
        const guards = events.get(name) ?? []
        if (!guards.includes(arrow.guard)) guards.push(arrow.guard)
        events.set(name, guards)
      }
    }
    for (const child of Object.values(node.states)) visit(child)
  }
  visit(root)
  return edges
}

/** The closest common ancestor's box, and the two of its children (or the state itself, for a self-transition) the arrow joins. */
function boxes(source: Node, target: Node): [Node, Node, Node] {
  if (source === target) return [source.parent ?? source, source, target]
  const ancestors = (node: Node) => {
    const chain: Node[] = []
    for (let at: Node | undefined = node; at; at = at.parent) chain.unshift(at)
    return chain
  }
  const from = ancestors(source)
  const to = ancestors(target)
  let depth = 0
  while (depth < from.length && depth < to.length && from[depth] === to[depth]) depth++
  const owner = from[depth - 1]!
  // An end that is itself the common ancestor (a transition out of a box to one of its children, or the root's) stays as it is.
  const lift = (chain: Node[]) => chain[depth] ?? chain[depth - 1]!
  const left = lift(from)
  const right = lift(to)
  return [left === owner || right === owner ? (owner.parent ?? owner) : owner, left, right]
}

function eventName(node: Node, event: string): string {
  const done = /^xstate\.(done|error)\.actor\.(.+)$/.exec(event)
  if (!done) return event
  const invoked = node.invoke.find((invoke) => invoke.id === done[2])
  // Ids xstate made up (they start with a digit) say nothing; the effect's name does.
  const effect = invoked === undefined ? done[2]! : /^\d/.test(invoked.id) ? String(invoked.src) : invoked.id
  return `${effect} ${done[1]}`
}

function guardName(guard: unknown): string | undefined {
  return typeof guard === 'string' ? guard : (guard as { type?: string } | undefined)?.type
}
