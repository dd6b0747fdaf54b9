/*
 * The consumer fixture of the compiler matrix (CommonJS): the same calls through the package's
 * `require` condition (dist/index.d.cts), default import included.
 */
import express = require('express')

import session from 'typed-session'
import { z } from 'zod'

const secret = 'a-secret-of-at-least-thirty-two-characters'

export const appSession = session({
  schema: z.object({
    views: z.number().int().catch(0),
    tree: z.json().optional(),
    cart: z.array(z.string()).default([]),
  }),
  secret,
  flash: { success: z.string(), count: z.number() },
})

declare module 'typed-session' {
  interface Register {
    session: typeof appSession
  }
}

export const app = express()
app.use(appSession)
app.get('/', async (req, res) => {
  req.session.views++
  req.flash('count', 1)
  // @ts-expect-error a union of kinds would accept another kind's value
  req.flash(req.query.k === 'a' ? 'success' : 'count', 1)
  // @ts-expect-error `keep` names schema keys only
  await req.session.regenerate({ keep: ['nope'] })
  req.session = null
  res.send(String(req.session.views))
})

// @ts-expect-error a key that reaches a prototype
session({ schema: z.object({ prototype: z.number().default(0) }), secret })
