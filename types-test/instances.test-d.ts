/*
 * Typed sessions per middleware, without `Register` (issue 14): `of(req)`, `flashOf(req)` and
 * `handler()` are typed from the middleware's own schema. This run registers another app
 * (express.test-d.ts), so these also prove that a second middleware's types do not mix with the
 * registered ones, in either direction.
 */
import express, { type Request, type RequestHandler } from 'express'
import { expectAssignable, expectError, expectNotType, expectType } from 'tsd'
import {
  type RequestWithSession,
  type SessionMiddleware,
  session,
  type TypedSession,
} from 'typed-session'
import { z } from 'zod'
import { value } from './helpers.js'

const admin = session({
  name: 'admin.sid',
  schema: z.object({
    role: z.enum(['none', 'admin']).default('none'),
    visits: z.number().default(0),
  }),
  secret: 'another-secret-for-the-admin-area-32!',
  cookie: { path: '/admin' },
  flash: { audit: z.string() },
})
type AdminData = { role: 'none' | 'admin'; visits: number }

const app = express()
app.use('/admin', admin)

// of(req): the admin session, typed from the admin schema, whatever Register says.
app.get('/admin/of', (req, res) => {
  const s = admin.of(req)
  expectType<TypedSession<AdminData>>(s)
  expectType<'none' | 'admin'>(s.role)
  s.visits++
  expectError(() => {
    s.role = 'root'
  })
  // The registered app's keys are not the admin's ...
  expectError(s.views)
  expectError(s.cart)
  // ... and the registered `req.session` keeps the registered type.
  expectType<number>(req.session.views)
  expectError(req.session.role)
  const flash = admin.flashOf(req)
  expectType<number>(flash('audit', 'seen'))
  expectError(flash('success', 'Saved'))
  res.send(s.role)
})

// handler(): req.session, req.sessionID and req.flash are the admin's.
const adminHandler = admin.handler(async (req, res) => {
  expectType<TypedSession<AdminData>>(req.session)
  expectType<number>(req.session.visits)
  expectError(req.session.views)
  expectError(req.session.userId)
  expectType<string>(req.sessionID)
  expectType<number>(req.flash('audit', 'x'))
  expectError(req.flash('success', 'x'))
  await req.session.regenerate({ keep: ['visits'] })
  expectError(req.session.regenerate({ keep: ['cart'] }))
  req.session = null
  // The rest of Express's request is there, unchanged.
  expectType<string>(req.path)
  expectType<string | undefined>(req.get('host'))
  res.send('ok')
})
expectAssignable<RequestHandler>(adminHandler)
app.get('/admin', adminHandler)
expectError(admin.handler((req: Request) => req.session.role))

// The request type by name, for handlers declared elsewhere.
const declaredElsewhere = (req: RequestWithSession<AdminData, { audit: string }>): number =>
  req.session.visits
app.get(
  '/admin/elsewhere',
  admin.handler((req, res) => res.json(declaredElsewhere(req))),
)
expectNotType<Request>(value<RequestWithSession<AdminData, {}>>())
expectError(admin.of('not a request'))

// Code that takes any session middleware still accepts this one.
expectAssignable<SessionMiddleware<unknown, unknown>>(admin)
