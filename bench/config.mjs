// Everything the compared servers must share: routes, schema, data, cookie and store settings.
// A difference between two rows of the table should come from the session library, nothing else.
import { z } from 'zod'

/** Server variants, in table order. `bare` is the limit: the same routes with no session at all. */
export const VARIANTS = [
  'bare',
  'express-session',
  'typed-session',
  'express-session-redis',
  'typed-session-redis',
  // Issue 10: typed-session's own stores beside connect-redis and connect-pg-simple.
  'typed-session-native-redis',
  'express-session-pg',
  'typed-session-pg',
  'typed-session-native-pg',
]

/** Variants that need Redis at REDIS_URL. */
export const REDIS_VARIANTS = new Set([
  'express-session-redis',
  'typed-session-redis',
  'typed-session-native-redis',
])

/** Variants that need PostgreSQL at DATABASE_URL (connect-pg-simple, or typed-session/pg). */
export const PG_VARIANTS = new Set([
  'express-session-pg',
  'typed-session-pg',
  'typed-session-native-pg',
])

/** Variants that use typed-session's native stores (typed-session/redis, typed-session/pg). */
export const NATIVE_STORE_VARIANTS = new Set([
  'typed-session-native-redis',
  'typed-session-native-pg',
])

/** Variants that load typed-session (so they need a build). */
export const TYPED_VARIANTS = new Set([
  'typed-session',
  'typed-session-redis',
  'typed-session-native-redis',
  'typed-session-pg',
  'typed-session-native-pg',
])

/** Flows: the route each one hits and whether the client carries a session cookie. */
export const FLOWS = {
  read: { path: '/read', withCookie: true },
  write: { path: '/write', withCookie: true },
  new: { path: '/new', withCookie: false },
}

/** One secret for both libraries (typed-session wants at least 32 characters in production). */
export const SECRET = 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz'

/** Same cookie name for both, so requests are byte-for-byte the same size. */
export const COOKIE_NAME = 'sid'

/** Cookie options given to both libraries. `secure: false` because the bench is plain HTTP. */
export const COOKIE = {
  maxAge: 86_400_000,
  httpOnly: true,
  sameSite: 'lax',
  secure: false,
  path: '/',
}

/** Redis to use for the connect-redis rows. */
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'

/** PostgreSQL to use for the connect-pg-simple and PgStore rows (trust auth, database `test`). */
export const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'

/**
 * Schema of a PostgreSQL variant in one server process (its table is `session` in it, as
 * connect-pg-simple names it); dropped when the server stops.
 */
export function pgSchema(variant, pid = process.pid) {
  return `typed_session_bench_${variant.replaceAll('-', '_')}_${pid}`
}

/** Key prefix of a Redis variant in one server process; removed when the server resets or stops. */
export function redisPrefix(variant, pid = process.pid) {
  return `typed-session-bench:${variant}:${pid}:`
}

/**
 * The realistic five-key session schema: an optional user id, an enum with a default, a counter,
 * a nested object and a nested array of objects. typed-session parses every loaded record with it.
 */
export const schema = z.object({
  userId: z.string().min(1).max(64).optional(),
  role: z.enum(['guest', 'member', 'admin']).default('guest'),
  views: z.number().int().nonnegative().default(0),
  prefs: z
    .object({ theme: z.enum(['light', 'dark']), locale: z.string().max(16) })
    .default({ theme: 'light', locale: 'en' }),
  cart: z
    .array(
      z.object({
        sku: z.string().max(32),
        qty: z.number().int().positive(),
        priceCents: z.number().int().nonnegative(),
      }),
    )
    .max(100)
    .default([]),
})

/** What a new typed-session session holds before the handler writes (the schema's parse of {}). */
export const NEW_SESSION_DEFAULTS = {
  role: 'guest',
  views: 0,
  prefs: { theme: 'light', locale: 'en' },
  cart: [],
}

/** What `/login` stores: every key set, three cart lines. Fresh objects on every call. */
export function loginData(n = 123) {
  return {
    userId: `user-${String(n).padStart(6, '0')}`,
    role: 'member',
    views: 0,
    prefs: { theme: 'dark', locale: 'en-GB' },
    cart: [
      { sku: 'SKU-0001-RED-M', qty: 1, priceCents: 1999 },
      { sku: 'SKU-0042-BLUE-L', qty: 2, priceCents: 4550 },
      { sku: 'SKU-0777-BLACK-XL', qty: 1, priceCents: 12900 },
    ],
  }
}

/** Parse a positive number from the environment, with a default. */
export function envNumber(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`)
  return value
}
