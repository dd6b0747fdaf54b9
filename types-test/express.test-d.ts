/*
 * Registering: one `declare module` line types `req.session` and `req.flash` in every Express 5
 * handler. A `declare module` applies to the whole tsd run, so this is the only file that
 * registers; the unregistered case runs on its own (types-test/unregistered).
 *
 * options.test-d.ts imports connect-redis and connect-pg-simple in this same run, so
 * @types/express-session's global `Request.session` is in the program too: these types must win
 * over it without a conflict (tsd checks with `skipLibCheck: false`).
 */
import express, { type Request, type RequestHandler } from 'express'
import type { Session, SessionData } from 'express-session'
import { expectAssignable, expectError, expectNotType, expectType } from 'tsd'
import defaultSession, { type RegisteredData, type RegisteredSession, session } from 'typed-session'
import * as v from 'valibot'
import { z } from 'zod'
import { type SessionOf, value } from './helpers.js'

const appSession = session({
  schema: z.object({
    userId: z.string().optional(),
    views: z.number().int().default(0),
    cart: z.array(z.object({ sku: z.string(), qty: z.number().int() })).default([]),
  }),
  secret: 'a-secret-of-at-least-thirty-two-characters',
  flash: { success: z.string(), error: z.string() },
})

declare module 'typed-session' {
  interface Register {
    session: typeof appSession
  }
}

const app = express()
// The middleware mounts like any other.
app.use(appSession)
expectAssignable<RequestHandler>(appSession)

app.get('/', async (req, res) => {
  // Data keys are typed, defaulted keys are not optional.
  expectType<number>(req.session.views)
  expectType<string | undefined>(req.session.userId)
  expectType<{ sku: string; qty: number }[]>(req.session.cart)
  req.session.views++
  req.session.cart.push({ sku: 'sku-1', qty: 1 })
  expectError(() => {
    req.session.views = 'many'
  })
  expectError(req.session.cart.push({ sku: 'sku-1' }))
  expectError(req.session.nope)
  expectError(() => {
    req.session.nope = true
  })

  // Members and the id.
  expectType<string>(req.sessionID)
  expectType<string>(req.session.id)
  expectType<Promise<void>>(req.session.save())
  expectType<typeof req.session>(req.session.save(() => {}))
  await req.session.regenerate({ keep: ['cart'] })
  expectError(req.session.regenerate({ keep: ['carts'] }))

  // Flash, typed from the registered kinds.
  expectType<number>(req.flash('success', 'Saved'))
  expectType<string[]>(req.flash('error'))
  expectError(req.flash('info', 'Hello'))
  expectError(req.flash('success', 1))

  // Dropping the session for this response (the `unset` option): assign null or undefined. The
  // property is a setter, so reading it is never `| undefined` ...
  if (req.query.drop === '1') req.session = null
  req.session = undefined
  expectType<RegisteredSession>(req.session)
  expectError(() => {
    req.session = { views: 1 }
  })
  // (`delete req.session` stays a compile error, TS2790, which tsd cannot assert: TypeScript deletes
  // only optional properties. test/types/matrix/fail.ts asserts it on every compiler.)

  res.send(`Views: ${req.session.views}`)
})

// The same types through `express.Request` (what handlers declared elsewhere take).
const handler = (req: Request): number => req.session.views
expectType<number>(handler(value<Request>()))

// The registry types themselves: never `any`.
expectType<{ userId?: string | undefined; views: number; cart: { sku: string; qty: number }[] }>(
  value<RegisteredData>(),
)
// biome-ignore lint/suspicious/noExplicitAny: the assertion is that the type is NOT any
expectNotType<any>(value<Request>().session)
expectType<RegisteredSession>(value<Request>().session)

// Our session is a structural subtype of express-session's, which is why both declarations can
// live in one program: code written for express-session (Passport) accepts `req.session`.
expectAssignable<Session & Partial<SessionData>>(value<Request>().session)
const passportLike = (s: Session): void => {
  s.regenerate(() => {})
  s.save(() => {})
}
passportLike(value<Request>().session)

// A valibot schema works as well as a zod one.
const valibotSession = session({
  schema: v.object({
    userId: v.optional(v.string()),
    views: v.optional(v.number(), 0),
    roles: v.optional(v.array(v.string()), () => []),
  }),
  secret: 'a-secret-of-at-least-thirty-two-characters',
})
const vs = value<SessionOf<typeof valibotSession>>()
expectType<number>(vs.views)
expectType<string[]>(vs.roles)
expectType<string | undefined>(vs.userId)
expectError(() => {
  vs.views = 'many'
})
expectError(vs.nope)
expectError(session({ schema: v.object({ userId: v.string() }), secret: 'x' }))
expectError(session({ schema: v.object({ at: v.optional(v.date()) }), secret: 'x' }))

// The default export (express-session's `import session from ...`) is the same function, typed
// the same: the schema check and the data type come through it.
expectType<typeof session>(defaultSession)
const viaDefault = defaultSession({
  schema: z.object({ views: z.number().default(0) }),
  secret: 'a-secret-of-at-least-thirty-two-characters',
})
expectType<number>(value<SessionOf<typeof viaDefault>>().views)
expectError(
  defaultSession({
    schema: z.object({ name: z.string() }),
    secret: 'a-secret-of-at-least-thirty-two-characters',
  }),
)
