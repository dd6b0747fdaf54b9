/*
 * The README's "Signing out everywhere" examples, as a user copies them (only the declarations a
 * reader supplies are added). Its own tsd run: it registers its own app.
 */
import express from 'express'
import { expectError, expectType } from 'tsd'
import { type OwnedSession, session } from 'typed-session'
import { z } from 'zod'

declare const epochCache: Map<string, number>
declare function changePassword(user: string, password: string): Promise<void>

const app = express()
app.use(express.json())

// ---- README block 1
const appSession = session({
  schema: z.object({
    passport: z.object({ user: z.string().optional() }).optional(),
    device: z.string().optional(), // e.g. "Firefox on Linux", set at login
  }),
  secret: process.env.SESSION_SECRET!,
  owner: (data) => data.passport?.user, // string | undefined (anonymous)
  sessionLabel: (data) => data.device, // shown in the list; optional
})
declare module 'typed-session' {
  interface Register {
    session: typeof appSession
  }
}
app.use(appSession)

app.get('/account/sessions', async (req, res) => {
  const user = req.session.passport?.user
  if (user === undefined) return res.redirect('/login')
  // [{ handle, createdAt, lastActiveAt, expiresAt, label, current }], oldest first
  res.json(await appSession.listSessions(user, { current: req.sessionID }))
})
app.post('/account/sign-out-others', async (req, res) => {
  const user = req.session.passport?.user
  if (user === undefined) return res.redirect('/login')
  const ended = await appSession.revokeSessions(user, { except: req.sessionID })
  res.json({ ended })
})
app.post('/account/sessions/:handle/revoke', async (req, res) => {
  const user = req.session.passport?.user
  if (user === undefined) return res.redirect('/login')
  res.json({ ended: await appSession.revokeSession(user, req.params.handle) })
})

// ---- README block 2 (the same schema as block 1)
const schema = z.object({
  passport: z.object({ user: z.string().optional() }).optional(),
  device: z.string().optional(),
})
const secret = process.env.SESSION_SECRET!
const epochSession = session({
  schema,
  secret,
  owner: (data) => data.passport?.user,
  // A counter you bump, or a fingerprint of the password hash (it changes with the password).
  ownerEpoch: (owner) => epochCache.get(owner), // string | number | undefined, or a Promise of one
})

app.post('/account/password', async (req, res) => {
  await changePassword(req.session.passport!.user!, req.body.password) // also bumps the epoch
  // Sign this device in again under the new epoch; every other session ends on its next request.
  await req.session.regenerate({ keep: ['passport'] })
  res.redirect('/account')
})

// What the blocks promise, checked.
expectType<Promise<OwnedSession[]>>(epochSession.listSessions('u1'))
expectError(appSession.listSessions(1))
