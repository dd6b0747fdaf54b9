/*
 * Declaration-merging extensions (issue 14): a third-party plugin (../plugin, imported by its
 * package name) adds the `tracker` key to `SessionExtensions`. In this program every session has
 * it: the registered `req.session`, `of(req)`, `handler()`, the owner functions; and every
 * `session()` must pass the plugin's fragment. Its own tsd run, because the augmentation applies
 * to the whole program (the main run's sessions know no plugin).
 */
import express from 'express'
import { expectAssignable, expectError, expectType } from 'tsd'
import {
  type ExtensionProblem,
  type SchemaProblem,
  type SessionExtension,
  type SessionExtensions,
  session,
  sessionExtension,
  type TypedSession,
} from 'typed-session'
import { trackerExtension, trackVisits } from 'typed-session-plugin-tracker'
import { z } from 'zod'
import { type MentionsOnce, value } from '../helpers.js'

const secret = 'a-secret-of-at-least-thirty-two-characters'
type Tracker = { visits: number; lastPath?: string | undefined }

const schema = z.object({
  views: z.number().int().default(0),
  passport: z.object({ user: z.string().optional() }).optional(),
})

// Accepted: the app's schema plus the plugin's fragment.
const appSession = session({ schema, secret, extensions: [trackerExtension] })
declare module 'typed-session' {
  interface Register {
    session: typeof appSession
  }
}
expectType<SessionExtension<'tracker'>>(trackerExtension)

const app = express()
app.use(appSession)
app.use(trackVisits())

// The registered req.session has the app's keys and the plugin's.
app.get('/', (req, res) => {
  expectType<number>(req.session.views)
  expectType<Tracker | undefined>(req.session.tracker)
  expectType<number | undefined>(req.session.tracker?.visits)
  req.session.tracker = { visits: 1 }
  req.session.tracker = undefined
  // Wrong types for the plugin's key are refused like the app's own keys.
  expectError(() => {
    req.session.tracker = { visits: 'one' }
  })
  expectError(() => {
    req.session.tracker = { visits: 1, other: true }
  })
  expectError(() => {
    req.session.tracker = 'one'
  })
  res.send(String(req.session.views))
})

// regenerate's keep knows the plugin's key, and still names a key that is no key at all.
app.post('/login', async (req, res) => {
  await req.session.regenerate({ keep: ['tracker', 'views'] })
  expectError(req.session.regenerate({ keep: ['tracer'] }))
  res.end()
})

// A second instance (per-instance typing, no Register) has the plugin's key too, and must pass
// the fragment as well: every session is validated against it.
const admin = session({
  name: 'admin.sid',
  schema: z.object({ role: z.enum(['none', 'admin']).default('none') }),
  secret,
  extensions: [trackerExtension],
})
app.get('/admin', (req, res) => {
  const s = admin.of(req)
  expectType<'none' | 'admin'>(s.role)
  expectType<Tracker | undefined>(s.tracker)
  expectAssignable<TypedSession<{ role: 'none' | 'admin' } & SessionExtensions>>(s)
  res.end()
})
app.get(
  '/admin/handler',
  admin.handler((req, res) => {
    expectType<Tracker | undefined>(req.session.tracker)
    expectError(() => {
      req.session.tracker = { visits: '2' }
    })
    res.end()
  }),
)

// The owner functions see the plugin's keys (a Passport-like plugin can name the owner).
session({
  schema,
  secret,
  extensions: [trackerExtension],
  owner: (data) => (data.tracker === undefined ? undefined : String(data.tracker.visits)),
})

// ---- refused at session() ----------------------------------------------------------------------

// The plugin's fragment is missing: the key is typed on req.session but nothing validates it.
expectError(session({ schema, secret }))
expectError(session({ schema, secret, extensions: [] }))
expectType<"typed-session: key 'tracker': a plugin's key (declared in SessionExtensions) without its schema, pass the plugin's fragment: session({ extensions: [...] })">(
  value<SchemaProblem<typeof schema, {}>>(),
)

// The app's schema has the plugin's key too (a collision): refused, with the fix.
const colliding = z.object({
  views: z.number().default(0),
  tracker: z.object({ visits: z.number() }).optional(),
})
expectError(session({ schema: colliding, secret, extensions: [trackerExtension] }))
expectType<"typed-session: key 'tracker': also a plugin's key (declared in SessionExtensions), remove it from the schema: the plugin's extension validates it">(
  value<SchemaProblem<typeof colliding, {}, 'tracker'>>(),
)

// A flash kind named like the plugin's key.
expectError(
  session({ schema, secret, extensions: [trackerExtension], flash: { tracker: z.string() } }),
)
expectType<true>(
  value<
    MentionsOnce<
      SchemaProblem<typeof schema, { tracker: z.ZodString }, 'tracker'>,
      "flash kind 'tracker': also a session data key or member name, rename it"
    >
  >(),
)

// Something that is not a fragment.
expectError(session({ schema, secret, extensions: [{ tracker: z.number() }] }))

// ---- refused at sessionExtension() (the plugin author's side) ----------------------------------

// The wrong type for the declared key.
const wrongType = { tracker: z.object({ visits: z.string() }).optional() }
expectError(sessionExtension(wrongType))
expectType<"typed-session: key 'tracker': the schema does not match the type declared in SessionExtensions (its output must be assignable to that type, and that type to its input)">(
  value<ExtensionProblem<typeof wrongType>>(),
)
// A schema narrower than the declared type (what a handler may write would fail every save).
const narrower = {
  tracker: z.object({ visits: z.number().int(), lastPath: z.string() }).optional(),
}
expectError(sessionExtension(narrower))

// A key no plugin declared: it would be validated but typed nowhere.
const undeclared = { trackr: z.number().optional() }
expectError(sessionExtension(undeclared))
expectType<"typed-session: key 'trackr': not declared in SessionExtensions, declare its type: declare module 'typed-session' { interface SessionExtensions { ... } }">(
  value<ExtensionProblem<typeof undeclared>>(),
)

// Required: a new session starts without the key.
const required = { tracker: z.object({ visits: z.number().int() }) }
expectError(sessionExtension(required))
expectType<true>(
  value<
    MentionsOnce<
      ExtensionProblem<typeof required>,
      "key 'tracker': required, but a new session starts without it, give it a .default() or make it .optional()"
    >
  >(),
)

// A reserved name, and a value that does not survive the store's JSON.
const reserved = { cookie: z.string().optional(), __proto__: z.string().optional() }
expectError(sessionExtension(reserved))
expectType<true>(
  value<
    MentionsOnce<
      ExtensionProblem<{ cookie: z.ZodOptional<z.ZodString> }>,
      "key 'cookie': reserved for a session member, rename it"
    >
  >(),
)
const dated = { tracker: z.object({ visits: z.number(), at: z.date() }).optional() }
expectError(sessionExtension(dated))
expectType<true>(
  value<
    MentionsOnce<
      ExtensionProblem<typeof dated>,
      "key 'tracker': a Date comes back from the store as a string, use z.coerce.date()"
    >
  >(),
)
