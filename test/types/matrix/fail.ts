/*
 * Must NOT compile, on every compiler of the matrix: each line that ends in an error comment gets
 * exactly one diagnostic, whose message contains the comment's text exactly once (it names the key
 * and the fix, printed once); no other line fails.
 */
import session from 'typed-session'
import { z } from 'zod'

const secret = 'a-secret-of-at-least-thirty-two-characters'

export const required = session({
  schema: z.object({ name: z.string(), views: z.number().catch(0) }), // error: key 'name': required, but a new session starts from {}, give it a .default() or make it .optional()
  secret,
})

export const dated = session({
  schema: z.object({ seenAt: z.date().optional(), data: z.json().optional() }), // error: key 'seenAt': a Date comes back from the store as a string, use z.coerce.date()
  secret,
})

export const reserved = session({
  schema: z.object({ prototype: z.number().default(0) }), // error: key 'prototype': reserved (every object has it, or it reaches the prototype), rename it
  secret,
})

export const passport = session({
  schema: z.object({ passport: z.object({ user: z.string() }).optional() }), // error: key 'passport': Passport's logout deletes passport.user, make user .optional()
  secret,
})

const app = session({
  schema: z.object({ cart: z.array(z.string()).default([]) }),
  secret,
  flash: { success: z.string(), formErrors: z.record(z.string(), z.string()) },
})
declare module 'typed-session' {
  interface Register {
    session: typeof app
  }
}

export async function handler(req: import('express').Request, kind: 'success' | 'formErrors') {
  await req.session.regenerate({ keep: ['cart', 'nope'] }) // error: 'nope' is not a key of your session schema
  req.session.regenerate({ keep: ['nope'] }, () => {}) // error: 'nope' is not a key of your session schema
  req.flash(kind, 'x') // error: typed-session: pass one flash kind per call, not a union of kinds
  // Dropping the session is `req.session = null`; `delete` needs an optional property, and an
  // optional `session` would make every read `| undefined`.
  req.session = null
  delete req.session // error: The operand of a 'delete' operator must be optional.
}
