import type { CookieOptions } from '../cookie/types.js'
import type { SessionOptions } from '../options.js'
import type { OwnerOptions } from '../owner/types.js'

/**
 * Every option name of `session()`. A record over `keyof SessionOptions` (not a list) so that an
 * option added to the type without being added here is a compile error, not a refused option.
 */
const SESSION_OPTION_NAMES: {
  readonly [TName in keyof SessionOptions | keyof OwnerOptions<unknown, string>]-?: true
} = {
  schema: true,
  secret: true,
  name: true,
  cookie: true,
  flash: true,
  extensions: true,
  store: true,
  genid: true,
  proxy: true,
  resave: true,
  rolling: true,
  saveUninitialized: true,
  unset: true,
  onInvalid: true,
  onEvent: true,
  storeTimeout: true,
  absoluteTimeout: true,
  maxSessionBytes: true,
  saveOnServerError: true,
  allowMemoryStoreInProduction: true,
  owner: true,
  sessionLabel: true,
  ownerEpoch: true,
}

/** Every name of the `cookie` option's object form. */
const COOKIE_OPTION_NAMES: { readonly [TName in keyof CookieOptions]-?: true } = {
  maxAge: true,
  expires: true,
  httpOnly: true,
  secure: true,
  sameSite: true,
  domain: true,
  path: true,
  partitioned: true,
  priority: true,
}

/**
 * The names in `options` that `session()` does not know, as a message naming the closest known
 * option for each; `undefined` when every name is known. express-session ignores unknown names, so
 * a misspelled security setting (`absoluteTimout`, `cookie.secrue`) would be silently off: plain
 * JavaScript has no compiler to catch it, and TypeScript reports one error per object literal.
 */
export function unknownOptionNames(options: object): string | undefined {
  const unknown = unknownIn(options, SESSION_OPTION_NAMES, '')
  const { cookie } = options as { cookie?: unknown }
  if (typeof cookie === 'object' && cookie !== null)
    unknown.push(...unknownIn(cookie, COOKIE_OPTION_NAMES, 'cookie.'))
  if (unknown.length === 0) return undefined
  return `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`
}

function unknownIn(
  object: object,
  known: Readonly<Record<string, true>>,
  prefix: string,
): string[] {
  const names = Object.keys(known)
  return Object.keys(object)
    .filter((name) => !Object.hasOwn(known, name))
    .map((name) => `"${prefix}${name}" (did you mean "${prefix}${closestName(name, names)}"?)`)
}

/** The candidate with the smallest edit distance to `name`, ignoring case (first one on a tie). */
function closestName(name: string, candidates: readonly string[]): string {
  let best = candidates[0] ?? ''
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/** Levenshtein distance, one row at a time (option names are short). */
function editDistance(from: string, to: string): number {
  let previous = Array.from({ length: to.length + 1 }, (_, index) => index)
  for (let i = 1; i <= from.length; i++) {
    const current = [i]
    for (let j = 1; j <= to.length; j++) {
      const substitution = previous[j - 1]! + (from[i - 1] === to[j - 1] ? 0 : 1)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution)
    }
    previous = current
  }
  return previous[to.length]!
}
