import type { StoredCookie } from './types.js'

// What the native stores read from a record's `cookie`: its plain form and its expiry.

/**
 * The cookie as plain data. express-session hands stores a `Cookie` instance (private `_expires`,
 * a `toJSON`); typed-session a plain object.
 */
export function plainCookie(cookie: StoredCookie): StoredCookie {
  const toJSON = (cookie as { toJSON?: unknown } | null)?.toJSON
  return typeof toJSON === 'function' ? (toJSON.call(cookie) as StoredCookie) : cookie
}

/**
 * When a record with this cookie expires, in ms since the epoch; `undefined` for a cookie without
 * an expiry (a browser-session cookie) or with one that does not parse, which the stores then keep
 * for their default TTL.
 */
export function cookieExpiryMs(cookie: StoredCookie): number | undefined {
  const expires = plainCookie(cookie)?.expires
  if (expires === null || expires === undefined) return undefined
  const at = expires instanceof Date ? expires.getTime() : Date.parse(String(expires))
  return Number.isNaN(at) ? undefined : at
}
