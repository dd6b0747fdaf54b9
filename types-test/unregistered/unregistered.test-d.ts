/*
 * Guarantee 6 of the core issue: with nothing registered, `req.session` is a loose record of
 * `unknown` values plus the session members, never `any`. Its own tsd run, because the main run
 * registers an app (express.test-d.ts) and a `declare module` applies to a whole run.
 */
import type { Request } from 'express'
import { expectAssignable, expectError, expectNotType, expectType } from 'tsd'
import {
  type RegisteredData,
  type RegisteredFlash,
  type RegisteredSession,
  session,
} from 'typed-session'
import { z } from 'zod'
import { value } from '../helpers.js'

const req = value<Request>()

// Any key reads as `unknown`: usable only after narrowing, unlike `any`.
expectType<unknown>(req.session.views)
// biome-ignore lint/suspicious/noExplicitAny: the assertion is that the type is NOT any
expectNotType<any>(req.session.views)
// biome-ignore lint/suspicious/noExplicitAny: the assertion is that the type is NOT any
expectNotType<any>(req.session)
expectError(req.session.views + 1)
expectError(req.session.user.name)
expectError(req.session.views.toFixed())
const views = req.session.views
if (typeof views === 'number') expectType<number>(views + 1)

// Any key may be written (nothing says which keys exist).
req.session.views = 1
req.session.cart = [{ sku: 'sku-1' }]

// The members keep their types.
expectType<string>(req.session.id)
expectType<string>(req.sessionID)
expectType<Promise<void>>(req.session.save())
expectType<Promise<void>>(req.session.regenerate({ keep: ['cart'] }))
expectType<RegisteredSession>(req.session.destroy(() => {}))
expectType<number | null>(req.session.cookie.originalMaxAge)
expectError(req.session.save('not a callback'))

// The registry falls back to loose records.
expectType<Record<string, unknown>>(value<RegisteredData>())
expectType<Record<string, unknown>>(value<RegisteredFlash>())
expectAssignable<Record<string, unknown>>(req.session)

// Flash: any kind, values of unknown type.
expectType<number>(req.flash('info', 'Hello'))
expectType<unknown[]>(req.flash('info'))
// biome-ignore lint/suspicious/noExplicitAny: the assertion is that the type is NOT any
expectNotType<any[]>(req.flash('info'))

// Without Register, a middleware still types its own session fully (no declaration merging).
const typed = session({
  schema: z.object({ views: z.number().default(0) }),
  secret: 'a-secret-of-at-least-thirty-two-characters',
  flash: { info: z.string() },
})
expectType<number>(typed.of(req).views)
expectError(typed.of(req).nope)
expectType<number>(typed.flashOf(req)('info', 'hi'))
typed.handler((handlerReq) => {
  expectType<number>(handlerReq.session.views)
  expectError(handlerReq.session.nope)
  expectError(handlerReq.flash('other', 'x'))
})
