/*
 * The consumer fixture of the compiler matrix (ESM): what a user's app writes, compiled by each
 * supported TypeScript against the built package. Every `@ts-expect-error` must be used, so the
 * refused calls are proven refused on every compiler too.
 */
import express from 'express'
import session, { type session as namedSession } from 'typed-session'
import { z } from 'zod'

const secret = 'a-secret-of-at-least-thirty-two-characters'

export const appSession = session({
  schema: z.object({
    userId: z.string().optional(),
    views: z.number().int().catch(0),
    cart: z.array(z.object({ sku: z.string(), qty: z.number().int() })).default([]),
    prefs: z.json().optional(),
    passport: z.object({ user: z.string().optional() }).optional(),
  }),
  secret,
  flash: { success: z.string(), formErrors: z.record(z.string(), z.string()) },
})

declare module 'typed-session' {
  interface Register {
    session: typeof appSession
  }
}

// The default export is the named one.
export const same: typeof namedSession = session

export const app = express()
app.use(appSession)
app.get('/', async (req, res) => {
  req.session.views++
  req.flash('success', 'Saved')
  req.flash('formErrors', { email: 'required' })
  const kind = req.query.k === 'a' ? 'success' : 'formErrors'
  // @ts-expect-error a union of kinds would accept another kind's value
  req.flash(kind, 'x')
  await req.session.regenerate({ keep: ['cart'] })
  // @ts-expect-error `keep` names schema keys only
  await req.session.regenerate({ keep: ['nope'] })
  if (req.query.logout === '1') req.session = null
  res.send(`views ${req.session.views}`)
})

// @ts-expect-error a required key with no default
session({ schema: z.object({ name: z.string() }), secret })
