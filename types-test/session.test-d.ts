/*
 * Compile-time guarantees 1-5 of the core issue, and the session members. Each guarantee has the
 * call that must compile and the call that must not (fastify/session style: accepted calls, exact
 * types, assignability, rejected calls).
 */
import type { Request } from 'express'
import { expectAssignable, expectError, expectNotAssignable, expectNotType, expectType } from 'tsd'
import { type SchemaCheck, type SessionCookie, session } from 'typed-session'
import { z } from 'zod'
import { type SessionOf, value } from './helpers.js'

const secret = 'a-secret-of-at-least-thirty-two-characters'

const appSession = session({
  schema: z.object({
    userId: z.string().optional(),
    views: z.number().int().default(0),
    cart: z.array(z.object({ sku: z.string(), qty: z.number().int() })).default([]),
    lastSeen: z.coerce.date().optional(),
  }),
  secret,
})
const s = value<SessionOf<typeof appSession>>()

// 1. Reading a key gives the schema's output type; a defaulted key is not `| undefined`.
expectType<number>(s.views)
expectNotType<number | undefined>(s.views)
expectType<{ sku: string; qty: number }[]>(s.cart)
expectType<string | undefined>(s.userId)
expectType<Date | undefined>(s.lastSeen)
expectNotAssignable<string>(s.userId)

// 2. Accepted writes (plain properties, as in express-session) ...
s.views++
s.views = 10
s.userId = 'u1'
s.userId = undefined
s.cart.push({ sku: 'sku-1', qty: 2 })
s.lastSeen = new Date()
// ... and rejected ones: wrong value types, unknown keys read or written, the read-only id.
expectError(() => {
  s.views = 'ten'
})
expectError(() => {
  s.userId = 42
})
expectError(s.cart.push({ sku: 'sku-1' }))
expectError(s.cart.push({ sku: 'sku-1', qty: '2' }))
expectError(s.nope)
expectError(() => {
  s.nope = 1
})
expectError(() => {
  s.id = 'forged'
})

// 3. A schema that cannot build a new, empty session is an error at `session({ schema })`.
expectError(session({ schema: z.object({ name: z.string() }), secret }))
expectError(session({ schema: z.object({ name: z.string().nullable() }), secret }))
expectError(session({ schema: z.object({ a: z.string().optional(), b: z.number() }), secret }))
session({ schema: z.object({ name: z.string().default('anonymous') }), secret })
session({ schema: z.object({ name: z.string().optional() }), secret })
session({ schema: z.object({ name: z.string().nullable().default(null) }), secret })
session({ schema: z.object({}), secret })
// ... with a message that names the problem (the property name the compiler prints).
type RequiredKeyMessage =
  'typed-session: a new session must be buildable from {}: give every required key a .default() or make it .optional()'
const requiredKey = z.object({ name: z.string() })
expectType<{ [TMessage in RequiredKeyMessage]: TMessage }>(
  value<SchemaCheck<typeof requiredKey, {}>>(),
)
// A sound schema adds no constraint at all.
const okSchema = z.object({ name: z.string().default('anonymous') })
expectType<unknown>(value<SchemaCheck<typeof okSchema, {}>>())

// The schema must describe an object.
expectError(session({ schema: z.string(), secret }))
expectError(session({ schema: z.array(z.string()).default([]), secret }))

// 4. A key that collides with a session member (or the stored `cookie` / `flash` slots) is an error.
expectError(session({ schema: z.object({ id: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ cookie: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ flash: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ save: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ reload: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ regenerate: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ destroy: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ touch: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ resetMaxAge: z.string().optional() }), secret }))
// Close but different names are plain data keys.
session({
  schema: z.object({ ids: z.array(z.string()).default([]), saved: z.boolean().optional() }),
  secret,
})
const reserved = z.object({ id: z.string().optional() })
expectType<{
  'typed-session: "id" is a session member name and cannot be a schema key': 'typed-session: "id" is a session member name and cannot be a schema key'
}>(value<SchemaCheck<typeof reserved, {}>>())

// 5. An output that does not survive a JSON round trip as valid input is an error ...
expectError(session({ schema: z.object({ at: z.date().optional() }), secret }))
expectError(session({ schema: z.object({ at: z.date().default(() => new Date()) }), secret }))
expectError(
  session({ schema: z.object({ log: z.array(z.object({ at: z.date() })).default([]) }), secret }),
)
expectError(session({ schema: z.object({ big: z.bigint().optional() }), secret }))
expectError(
  session({ schema: z.object({ seen: z.map(z.string(), z.number()).optional() }), secret }),
)
const withDate = z.object({ at: z.date().optional() })
type JsonMessage =
  'typed-session: the schema output does not survive a JSON round trip (a Date comes back as a string): accept what comes back, e.g. z.coerce.date()'
expectType<{ [TMessage in JsonMessage]: TMessage }>(value<SchemaCheck<typeof withDate, {}>>())
// ... unless the schema accepts what comes back: z.coerce.date(), or an ISO-string codec.
const coerced = session({ schema: z.object({ at: z.coerce.date().optional() }), secret })
expectType<Date | undefined>(value<SessionOf<typeof coerced>>().at)
const isoDate = z.codec(z.iso.datetime(), z.date(), {
  decode: (iso) => new Date(iso),
  encode: (date) => date.toISOString(),
})
const codec = session({ schema: z.object({ at: isoDate.optional() }), secret })
expectType<Date | undefined>(value<SessionOf<typeof codec>>().at)

// Members: a Promise without a callback, the session itself (express-session's `this`) with one.
const callback = (err?: unknown): void => {
  expectType<unknown>(err)
}
expectType<Promise<void>>(s.save())
expectType<Promise<void>>(s.reload())
expectType<Promise<void>>(s.regenerate())
expectType<Promise<void>>(s.destroy())
expectType<typeof s>(s.save(callback))
expectType<typeof s>(s.reload(callback))
expectType<typeof s>(s.regenerate(callback))
expectType<typeof s>(s.destroy(callback))
expectType<typeof s>(s.touch())
expectType<typeof s>(s.resetMaxAge())
expectType<string>(s.id)
expectType<SessionCookie>(s.cookie)
expectType<number | null>(s.cookie.originalMaxAge)
s.cookie.maxAge = 60_000
expectError(s.save('not a callback'))
expectError(s.destroy({}))
expectError(() => {
  s.cookie.maxAge = '1h'
})
// Data and members live on one object, so code that takes the plain data shape accepts a session.
expectAssignable<{ views: number; cart: { sku: string; qty: number }[]; id: string }>(s)

// `req.sessionID` is a string, as in express-session.
const req = value<Request>()
expectType<string>(req.sessionID)
expectError(() => {
  req.sessionID = 1
})
