/*
 * Typed flash messages (flash issue): kinds and value types come from the `flash` option, in
 * connect-flash's three call shapes, and a kind that collides with a data key is an error at
 * `session()`.
 */
import { expectAssignable, expectError, expectType } from 'tsd'
import { type FlashValues, type SchemaProblem, session } from 'typed-session'
import * as v from 'valibot'
import { z } from 'zod'
import { type FlashOf, value } from './helpers.js'

const secret = 'a-secret-of-at-least-thirty-two-characters'
const schema = z.object({ views: z.number().int().default(0) })

const app = session({
  schema,
  secret,
  flash: {
    success: z.string(),
    attempts: z.number().int(),
    formErrors: z.record(z.string(), z.string()),
  },
})
const flash = value<FlashOf<typeof app>>()

// Queue a message: returns the queue length.
expectType<number>(flash('success', 'Saved'))
expectType<number>(flash('attempts', 3))
expectType<number>(flash('formErrors', { email: 'Email is required' }))
// Take the messages of one kind: typed from that kind's schema.
expectType<string[]>(flash('success'))
expectType<number[]>(flash('attempts'))
expectType<Record<string, string>[]>(flash('formErrors'))
// Take them all: a record of the kinds that have messages.
expectType<{
  success?: string[]
  attempts?: number[]
  formErrors?: Record<string, string>[]
}>(flash())
expectAssignable<{ success?: readonly string[] }>(flash())

// Unknown kinds and wrong value types are rejected.
expectError(flash('info', 'Hello'))
expectError(flash('info'))
expectError(flash('success', 42))
expectError(flash('attempts', '3'))
expectError(flash('formErrors', { email: 1 }))
expectError(flash('success', 'a', 'b'))
// A kind typed as a union would take any kind's value for any kind (and throw at run time): one
// kind per call.
const someKind = value<'success' | 'formErrors'>()
expectError(flash(someKind, 'x'))
expectError(flash(someKind, { email: 'x' }))
expectType<(string | Record<string, string>)[]>(flash(someKind))

// A zod object works as the flash option too (its shape holds one schema per kind).
const objectForm = session({ schema, secret, flash: z.object({ notice: z.string() }) })
const objectFlash = value<FlashOf<typeof objectForm>>()
expectType<string[]>(objectFlash('notice'))
expectError(objectFlash('notice', 1))
expectError(objectFlash('success'))

// Kinds may be any Standard Schema (valibot here).
const valibotForm = session({ schema, secret, flash: { warning: v.string() } })
expectType<string[]>(value<FlashOf<typeof valibotForm>>()('warning'))

// No flash option: no kind exists, so every call with a kind is an error.
const noFlash = session({ schema, secret })
expectType<{}>(value<FlashValues<{}>>())
expectError(value<FlashOf<typeof noFlash>>()('success', 'Saved'))

// A flash kind that collides with a session data key is an error at `session()` ...
expectError(session({ schema, secret, flash: { views: z.string() } }))
expectError(session({ schema, secret, flash: z.object({ views: z.string() }) }))
// ... naming the kind.
const collidingFlash = { views: z.string() }
expectType<"typed-session: flash kind 'views': also a session data key or member name, rename it">(
  value<SchemaProblem<typeof schema, typeof collidingFlash>>(),
)

// A flash value must survive the JSON round trip of the store, like session data.
expectError(session({ schema, secret, flash: { at: z.date() } }))
session({ schema, secret, flash: { at: z.coerce.date() } })
const dateFlash = { at: z.date() }
expectType<"typed-session: flash kind 'at': a Date comes back from the store as a string, use z.coerce.date()">(
  value<SchemaProblem<typeof schema, typeof dateFlash>>(),
)
