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
