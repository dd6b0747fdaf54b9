import type { IncomingMessage } from 'node:http'
import { parse } from 'cookie'

/**
 * The value of the first cookie called `name` in the request, or `undefined`. Only the first one
 * counts, as in express-session: a cookie planted by a sibling subdomain (cookie tossing) cannot
 * push the real one aside by coming later.
 */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie
  // Most requests of a new visitor carry no cookie at all; skip the parser then.
  if (header === undefined || !header.includes(name)) return undefined
  try {
    return parse(header)[name]
  } catch {
    // A malformed header is untrusted input, not an error: it simply carries no session.
    return undefined
  }
}

/**
 * Whether the request carries more than one cookie called `name`. Browsers send both when a
 * sibling subdomain or another path planted a second one (cookie tossing): the first still wins,
 * but the duplicate is worth reporting (OWASP session attack detection).
 */
export function hasDuplicateCookie(req: IncomingMessage, name: string): boolean {
  const header = req.headers.cookie
  if (header === undefined) return false
  let found = 0
  for (let at = header.indexOf(name); at !== -1; at = header.indexOf(name, at + name.length)) {
    const before = at === 0 ? ';' : header[at - 1]
    const after = header.slice(at + name.length).trimStart()[0]
    // A whole cookie name: at the start of a pair and followed by `=` (not `xsid=` or `sid2=`).
    if ((before === ';' || before === ' ') && after === '=' && ++found > 1) return true
  }
  return false
}
