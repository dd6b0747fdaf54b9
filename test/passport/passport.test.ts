import express, { type NextFunction, type Request, type Response } from 'express'
import passport from 'passport'
import { Strategy as LocalStrategy } from 'passport-local'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { isSessionError, MemoryStore, session } from '../../src/index.js'
import { idOfCookie, SECRET, storedRecord } from '../flash/support.js'
import { CookieClient, listen, type TestServer } from '../helpers/http.js'

interface User {
  id: string
  username: string
}
const USERS: readonly (User & { password: string })[] = [
  { id: 'u-1', username: 'alice', password: 'correct horse' },
]

/** The documented pattern: declare the key Passport writes, so a strict schema keeps it. */
const schema = z.object({
  passport: z.object({ user: z.string().optional() }).optional(),
  theme: z.enum(['light', 'dark']).default('light'),
})
/** The schema users naturally write: a logged-in session always has a user. */
const naturalSchema = z.object({
  passport: z.object({ user: z.string() }).optional(),
  theme: z.enum(['light', 'dark']).default('light'),
})
/**
 * A schema under which the emptied `passport` cannot be saved at all, even without the key:
 * "pinned" sessions must keep their login (a cross-key rule).
 */
const pinnedSchema = z
  .object({
    passport: z.object({ user: z.string() }).optional(),
    pinned: z.boolean().optional(),
    theme: z.enum(['light', 'dark']).default('light'),
  })
  .superRefine((data, ctx) => {
    if (data.pinned === true && data.passport === undefined)
      ctx.addIssue({ code: 'custom', path: ['passport'], message: 'pinned sessions keep a login' })
  })
/** The same app without the `passport` key: what a user forgets. */
const schemaWithoutPassport = z.object({ theme: z.enum(['light', 'dark']).default('light') })

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/**
 * An Express 5 app with Passport 0.7 and passport-local, set up as the README shows. A separate
 * Passport instance per app keeps tests independent.
 */
function passportApp(
  store: MemoryStore,
  strict = false,
  appSchema: z.ZodType<object, object> = strict ? schemaWithoutPassport : schema,
): express.Express {
  const auth = new passport.Passport()
  auth.use(
    new LocalStrategy((username, password, done) => {
      const user = USERS.find((candidate) => candidate.username === username)
      if (user === undefined || user.password !== password)
        return done(null, false, { message: 'Incorrect username or password.' })
      return done(null, { id: user.id, username: user.username })
    }),
  )
  auth.serializeUser((user, done) => done(null, (user as User).id))
  auth.deserializeUser((id: string, done) => {
    const user = USERS.find((candidate) => candidate.id === id)
    done(null, user === undefined ? false : { id: user.id, username: user.username })
  })

  const app = express()
  app.use(express.json())
  app.use(
    session({
      schema: appSchema as typeof schema,
      secret: SECRET,
      store,
      flash: { error: z.string(), success: z.string() },
    }),
  )
  app.use(auth.initialize())
  app.use(auth.session())

  const login = (keepSessionInfo: boolean) =>
    auth.authenticate('local', {
      successRedirect: '/me',
      failureRedirect: '/login',
      failureFlash: true,
      successFlash: 'Welcome back!',
      keepSessionInfo,
    })
  app.post('/login', login(false))
  app.post('/login-keep', login(true))
  app.get('/login', (req, res) => res.json({ errors: req.flash('error') }))
  app.post('/pin', (req, res) => {
    ;(req.session as { pinned?: boolean }).pinned = true
    res.json({ id: req.sessionID })
  })
  app.post('/theme', (req, res) => {
    req.session.theme = 'dark'
    res.json({ id: req.sessionID })
  })
  app.get('/me', (req, res) => {
    res.json({
      user: req.user ?? null,
      authenticated: req.isAuthenticated(),
      id: req.sessionID,
      theme: req.session.theme,
      success: req.flash('success'),
    })
  })
  app.post('/logout', (req, res, next) => {
    req.logout((err: unknown) => (err ? next(err) : res.redirect('/me')))
  })
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(isSessionError(err) ? err.status : 500).json({
      code: isSessionError(err) ? err.code : String(err),
      message: err instanceof Error ? err.message : String(err),
    })
  })
  return app
}

const alice = { username: 'alice', password: 'correct horse' }

describe('Passport 0.7 + passport-local', () => {
  it.each([
    ['without keepSessionInfo', '/login', 'light'],
    ['with keepSessionInfo', '/login-keep', 'dark'],
  ])(
    'logs in %s: new session id, req.user restored on the next requests',
    async (_label, path, theme) => {
      const store = new MemoryStore()
      server = await listen(passportApp(store))
      const client = new CookieClient(server.url)
      await client.post('/theme')
      const anonymousId = idOfCookie(client.cookies.get('sid'))!

      const login = await client.post(path, alice)
      expect(login.status).toBe(302)
      expect(login.headers.get('location')).toBe('/me')
      const loggedInId = idOfCookie(client.cookies.get('sid'))!
      expect(loggedInId).not.toBe(anonymousId)
      // Fixation defence: the pre-login record is gone.
      expect(await storedRecord(store, anonymousId)).toBeUndefined()
      expect(await storedRecord(store, loggedInId)).toMatchObject({ passport: { user: 'u-1' } })

      const me = JSON.parse((await client.get('/me')).body)
      expect(me).toEqual({
        user: { id: 'u-1', username: 'alice' },
        authenticated: true,
        id: loggedInId,
        theme, // kept only with keepSessionInfo; reset to the schema default otherwise
        success: ['Welcome back!'], // queued before Passport regenerated the session
      })
      const again = JSON.parse((await client.get('/me')).body)
      expect(again).toMatchObject({ user: { id: 'u-1' }, id: loggedInId, success: [] })
    },
  )

  it('delivers failureFlash messages to the page the failure redirects to', async () => {
    const store = new MemoryStore()
    server = await listen(passportApp(store))
    const client = new CookieClient(server.url)
    const failed = await client.post('/login', { username: 'alice', password: 'wrong' })
    expect(failed.status).toBe(302)
    expect(failed.headers.get('location')).toBe('/login')
    const id = idOfCookie(client.cookies.get('sid'))!
    // Stored where connect-flash keeps it, under the `error` kind Passport uses.
    expect(await storedRecord(store, id)).toMatchObject({
      flash: { error: ['Incorrect username or password.'] },
    })
    const page = JSON.parse((await client.get('/login')).body)
    expect(page).toEqual({ errors: ['Incorrect username or password.'] })
    expect(JSON.parse((await client.get('/login')).body)).toEqual({ errors: [] })
    expect(JSON.parse((await client.get('/me')).body)).toMatchObject({
      user: null,
      authenticated: false,
    })
  })

  it('logs out: the login ends, the session id changes and the old cookie no longer authenticates', async () => {
    const store = new MemoryStore()
    server = await listen(passportApp(store))
    const client = new CookieClient(server.url)
    await client.post('/login', alice)
    const loggedInCookie = client.cookies.get('sid')!
    const loggedInId = idOfCookie(loggedInCookie)!

    const logout = await client.post('/logout')
    expect(logout.status).toBe(302)
    expect(idOfCookie(client.cookies.get('sid'))).not.toBe(loggedInId)
    expect(await storedRecord(store, loggedInId)).toBeUndefined()
    expect(JSON.parse((await client.get('/me')).body)).toMatchObject({
      user: null,
      authenticated: false,
    })

    // Someone who kept (or stole) the logged-in cookie gets an anonymous session.
    const replay = new CookieClient(server.url)
    replay.cookies.set('sid', loggedInCookie)
    const replayed = await replay.get('/me')
    expect(JSON.parse(replayed.body)).toMatchObject({ user: null, authenticated: false })
    expect(JSON.parse(replayed.body).id).not.toBe(loggedInId)
    expect(await storedRecord(store, loggedInId)).toBeUndefined()
  })

  it('refuses, loudly, to save a login into a strict schema that does not declare `passport`', async () => {
    const store = new MemoryStore()
    server = await listen(passportApp(store, true))
    const client = new CookieClient(server.url)
    const login = await client.post('/login', alice)
    expect(login.status).toBe(500)
    const body = JSON.parse(login.body)
    expect(body.code).toBe('ERR_SESSION_INVALID_DATA')
    expect(body.message).toContain('"passport"')
    // Nothing was saved without the user id: no half-logged-in session exists anywhere.
    expect(store.size).toBe(0)
    expect(client.cookies.has('sid')).toBe(false)
  })

  it('logs out with the natural schema (`passport.user` required): the old cookie stops authenticating', async () => {
    // Passport 0.7 deletes `passport.user` (leaving `passport: {}`, which that schema refuses) and
    // saves before it regenerates. Refusing that save would keep the login alive behind a 500.
    const store = new MemoryStore()
    server = await listen(passportApp(store, false, naturalSchema))
    const client = new CookieClient(server.url)
    await client.post('/login', alice)
    const loggedInCookie = client.cookies.get('sid')!
    const loggedInId = idOfCookie(loggedInCookie)!
    expect(await storedRecord(store, loggedInId)).toMatchObject({ passport: { user: 'u-1' } })

    const logout = await client.post('/logout')
    expect(logout.status).toBe(302)
    expect(await storedRecord(store, loggedInId)).toBeUndefined()
    expect(JSON.parse((await client.get('/me')).body)).toMatchObject({ authenticated: false })
    const replay = new CookieClient(server.url)
    replay.cookies.set('sid', loggedInCookie)
    expect(JSON.parse((await replay.get('/me')).body)).toMatchObject({
      user: null,
      authenticated: false,
    })
  })

  it('ends the session when the schema refuses a logout in any form: never fails open', async () => {
    const store = new MemoryStore()
    server = await listen(passportApp(store, false, pinnedSchema))
    const client = new CookieClient(server.url)
    await client.post('/login', alice)
    await client.post('/pin')
    const loggedInCookie = client.cookies.get('sid')!
    const loggedInId = idOfCookie(loggedInCookie)!
    expect(await storedRecord(store, loggedInId)).toMatchObject({ pinned: true })

    const logout = await client.post('/logout')
    expect(logout.status).toBe(500)
    expect(JSON.parse(logout.body).code).toBe('ERR_SESSION_INVALID_DATA')
    // The login is over all the same: the record is gone and the browser's cookie cleared.
    expect(await storedRecord(store, loggedInId)).toBeUndefined()
    expect(client.cookies.has('sid')).toBe(false)
    const replay = new CookieClient(server.url)
    replay.cookies.set('sid', loggedInCookie)
    expect(JSON.parse((await replay.get('/me')).body)).toMatchObject({
      user: null,
      authenticated: false,
    })
  })
})
