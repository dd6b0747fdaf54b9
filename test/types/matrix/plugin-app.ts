// Must compile on every compiler of the matrix: an app with the plugin's fragment, its key typed in
// the registered req.session and through a second instance's handler().
import express from 'express'
import { session } from 'typed-session'
import { z } from 'zod'
import { trackerExtension } from './plugin.js'

const secret = 'a-secret-of-at-least-thirty-two-characters'

export const appSession = session({
  schema: z.object({ views: z.number().int().default(0) }),
  secret,
  extensions: [trackerExtension],
})
declare module 'typed-session' {
  interface Register {
    session: typeof appSession
  }
}
const admin = session({
  name: 'admin.sid',
  schema: z.object({ role: z.enum(['none', 'admin']).default('none') }),
  secret,
  extensions: [trackerExtension],
})

export const app = express()
app.use(appSession)
app.get('/', (req, res) => {
  const visits: number = (req.session.tracker?.visits ?? 0) + req.session.views
  req.session.tracker = { visits }
  // @ts-expect-error the plugin's key is typed like the app's own keys
  req.session.tracker = { visits: 'one' }
  res.send(String(visits))
})
app.get(
  '/admin',
  admin.handler((req, res) => {
    req.session.tracker = { visits: 1, lastPath: req.path }
    res.send(req.session.role)
  }),
)
