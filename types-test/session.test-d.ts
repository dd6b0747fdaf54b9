/*
 * Compile-time guarantees 1-5 of the core issue, and the session members. Each guarantee has the
 * call that must compile and the call that must not (fastify/session style: accepted calls, exact
 * types, assignability, rejected calls).
 */
import type { Request } from 'express'
import { expectAssignable, expectError, expectNotAssignable, expectNotType, expectType } from 'tsd'
import { type SchemaProblem, type SessionCookie, session } from 'typed-session'
import { z } from 'zod'
import { type MentionsOnce, type SessionOf, value } from './helpers.js'

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
// ... with a message that names every such key and the fix (the type the compiler prints).
const requiredKey = z.object({ name: z.string() })
expectType<"typed-session: key 'name': required, but a new session starts from {}, give it a .default() or make it .optional()">(
  value<SchemaProblem<typeof requiredKey, {}>>(),
)
const twoRequired = z.object({ name: z.string(), age: z.number(), ok: z.string().optional() })
type TwoRequired = SchemaProblem<typeof twoRequired, {}>
expectType<true>(value<MentionsOnce<TwoRequired, "'name'">>())
expectType<true>(value<MentionsOnce<TwoRequired, "'age'">>())
expectType<false>(value<MentionsOnce<TwoRequired, "'ok'">>())
expectType<true>(
  value<
    MentionsOnce<
      TwoRequired,
      "': required, but a new session starts from {}, give it a .default() or make it .optional()"
    >
  >(),
)
// A sound schema has no problem at all.
const okSchema = z.object({ name: z.string().default('anonymous') })
expectType<never>(value<SchemaProblem<typeof okSchema, {}>>())
// zod's .catch() builds `{ views: 0 }` from {}: accepted although its input type is required,
// on a key and on the whole object.
const caught = session({ schema: z.object({ views: z.number().catch(0) }), secret })
expectType<number>(value<SessionOf<typeof caught>>().views)
session({ schema: z.object({ name: z.string() }).catch({ name: 'anonymous' }), secret })
expectError(session({ schema: z.object({ views: z.number().catch(0), name: z.string() }), secret }))

// The schema must describe an object.
expectError(session({ schema: z.string(), secret }))
expectError(session({ schema: z.array(z.string()).default([]), secret }))

// 4. A key that collides with a session member (or the stored `cookie` / `flash` slots) is an error ...
expectError(session({ schema: z.object({ id: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ cookie: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ flash: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ save: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ reload: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ regenerate: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ destroy: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ touch: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ resetMaxAge: z.string().optional() }), secret }))
// ... and so is a name every object has, or one that reaches a prototype: the runtime never copies
// these onto req.session, so a typed `req.session.prototype` would always be undefined.
expectError(session({ schema: z.object({ prototype: z.number().default(1) }), secret }))
expectError(session({ schema: z.object({ ['__proto__']: z.number().optional() }), secret }))
expectError(session({ schema: z.object({ constructor: z.number().optional() }), secret }))
expectError(session({ schema: z.object({ toString: z.string().optional() }), secret }))
expectError(session({ schema: z.object({ valueOf: z.number().optional() }), secret }))
expectError(session({ schema: z.object({ hasOwnProperty: z.boolean().optional() }), secret }))
// Close but different names are plain data keys.
session({
  schema: z.object({
    ids: z.array(z.string()).default([]),
    saved: z.boolean().optional(),
    protoType: z.string().optional(),
  }),
  secret,
})
// The message is the reserved-key one (not "buildable from {}"), naming the keys.
const reserved = z.object({ id: z.string().optional() })
expectType<"typed-session: key 'id': reserved for a session member, rename it">(
  value<SchemaProblem<typeof reserved, {}>>(),
)
const prototypeKeys = z.object({
  prototype: z.number().default(1),
  constructor: z.number().optional(),
  toString: z.string().optional(),
})
type PrototypeKeys = SchemaProblem<typeof prototypeKeys, {}>
expectType<true>(value<MentionsOnce<PrototypeKeys, "'prototype'">>())
expectType<true>(value<MentionsOnce<PrototypeKeys, "'constructor'">>())
expectType<true>(value<MentionsOnce<PrototypeKeys, "'toString'">>())
expectType<true>(
  value<
    MentionsOnce<
      PrototypeKeys,
      "': reserved (every object has it, or it reaches the prototype), rename it"
    >
  >(),
)
expectType<false>(value<MentionsOnce<PrototypeKeys, 'buildable'>>())

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
// The message names each key and the type that does not survive, each problem once.
const withDate = z.object({ at: z.date().optional() })
expectType<"typed-session: key 'at': a Date comes back from the store as a string, use z.coerce.date()">(
  value<SchemaProblem<typeof withDate, {}>>(),
)
const nonJson = z.object({
  seenAt: z.date().optional(),
  log: z.array(z.object({ at: z.date() })).default([]),
  seen: z.map(z.string(), z.number()).optional(),
  tags: z.set(z.string()).optional(),
  big: z.bigint().optional(),
  len: z
    .string()
    .transform((text) => text.length)
    .optional(),
})
type NonJson = SchemaProblem<typeof nonJson, {}>
expectType<true>(value<MentionsOnce<NonJson, "'seenAt'">>())
expectType<true>(value<MentionsOnce<NonJson, "'log'">>())
expectType<true>(
  value<
    MentionsOnce<NonJson, ': a Date comes back from the store as a string, use z.coerce.date()'>
  >(),
)
expectType<true>(
  value<
    MentionsOnce<NonJson, "key 'seen': a Map comes back from the store as {}, use z.record()">
  >(),
)
expectType<true>(
  value<
    MentionsOnce<NonJson, "key 'tags': a Set comes back from the store as {}, use z.array()">
  >(),
)
expectType<true>(
  value<MentionsOnce<NonJson, "key 'big': a bigint cannot be stored as JSON, use z.number()">>(),
)
expectType<true>(
  value<
    MentionsOnce<
      NonJson,
      "key 'len': what comes back from the store does not parse again (a .transform() must accept its own output), use z.codec()"
    >
  >(),
)
// Different kinds of problem in one schema: each kind once, in a fixed order.
const mixed = z.object({ name: z.string(), id: z.string().optional(), at: z.date().optional() })
expectType<"typed-session: key 'id': reserved for a session member, rename it; key 'name': required, but a new session starts from {}, give it a .default() or make it .optional(); key 'at': a Date comes back from the store as a string, use z.coerce.date()">(
  value<SchemaProblem<typeof mixed, {}>>(),
)
expectType<'typed-session: the schema must describe an object, use z.object({ ... })'>(
  value<SchemaProblem<z.ZodString, {}>>(),
)

// JSON is JSON by construction: z.json() and recursive schemas compile (no TS2589), anywhere.
const withJson = session({
  schema: z.object({
    data: z.json().optional(),
    nested: z.object({ payload: z.json() }).optional(),
    list: z.array(z.json()).default([]),
  }),
  secret,
})
expectType<z.core.util.JSONType | undefined>(value<SessionOf<typeof withJson>>().data)
const category = z.object({
  name: z.string(),
  get children() {
    return z.array(category)
  },
})
const tree = session({ schema: z.object({ root: category.optional() }), secret })
expectType<string | undefined>(value<SessionOf<typeof tree>>().root?.children[0]?.name)
// A recursive schema is still checked where it is not JSON.
const datedCategory = z.object({
  at: z.date(),
  get children() {
    return z.array(datedCategory)
  },
})
expectError(session({ schema: z.object({ root: datedCategory.optional() }), secret }))

// Passport deletes `passport.user` on logout: a schema that requires it would refuse every
// logged-out session, so it is refused here, with the fix.
expectError(
  session({ schema: z.object({ passport: z.object({ user: z.string() }).optional() }), secret }),
)
session({
  schema: z.object({ passport: z.object({ user: z.string().optional() }).optional() }),
  secret,
})
const passportSlot = z.object({ passport: z.object({ user: z.string() }).optional() })
expectType<"typed-session: key 'passport': Passport's logout deletes passport.user, make user .optional()">(
  value<SchemaProblem<typeof passportSlot, {}>>(),
)

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
