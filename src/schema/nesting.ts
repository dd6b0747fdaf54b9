/**
 * Deepest nesting of objects and arrays a session value may have (the record itself is level 1).
 * Schemas validate recursively: zod 4 overflows the stack on a `z.json()` value a few thousand
 * levels deep, and a throw from inside its parse leaks memory (a memoizer that is not unwound), so
 * a client that can put JSON in the session could otherwise exhaust the process. Real sessions are
 * a handful of levels deep.
 */
export const MAX_NESTING_DEPTH = 64

/** Most members one object or array in a session value may have. */
export const MAX_NESTING_WIDTH = 10_000

/**
 * Most objects and arrays one value may contain in all. Within `maxSessionBytes` (64 KB by default)
 * a record cannot come near it; it bounds the walk on a value that was not measured yet (a flash
 * message, which may even be cyclic).
 */
const MAX_CONTAINERS = 100_000

/** Which bound a value breaks. */
export type NestingProblem = 'depth' | 'width'

/**
 * Whether `value` is nested deeper or wider than the documented bounds, checked without
 * recursion (a value too deep for a schema's recursion is also too deep for ours). Runs before any
 * schema sees a value: on load, on save, on a flash message and on `regenerate({ keep })`.
 */
export function nestingProblem(value: unknown): NestingProblem | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const nodes: object[] = [value]
  const depths: number[] = [1]
  let containers = 0
  while (nodes.length > 0) {
    const node = nodes.pop()!
    const depth = depths.pop()!
    if (depth > MAX_NESTING_DEPTH) return 'depth'
    if (++containers > MAX_CONTAINERS) return 'width'
    // Members are visited in place, not through `Object.values`: this runs on every load and save,
    // and an array per object was a measurable share of a request's garbage (issue 15).
    if (Array.isArray(node)) {
      if (node.length > MAX_NESTING_WIDTH) return 'width'
      for (let i = 0; i < node.length; i++) visit(node[i], depth, nodes, depths)
    } else {
      let members = 0
      for (const key in node) {
        if (!Object.hasOwn(node, key)) continue
        if (++members > MAX_NESTING_WIDTH) return 'width'
        visit((node as Record<string, unknown>)[key], depth, nodes, depths)
      }
    }
  }
  return undefined
}

/** Queue `member` for the walk when it is an object or array one level below `depth`. */
function visit(member: unknown, depth: number, nodes: object[], depths: number[]): void {
  if (typeof member === 'object' && member !== null) {
    nodes.push(member)
    depths.push(depth + 1)
  }
}

/** The message for a value refused by {@link nestingProblem}. */
export function nestingMessage(problem: NestingProblem): string {
  return problem === 'depth'
    ? `nested deeper than ${MAX_NESTING_DEPTH} levels`
    : `an object or array with more than ${MAX_NESTING_WIDTH} members`
}
