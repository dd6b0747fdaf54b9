/*
 * Several session middlewares on one app, each typed from its own schema without `Register`
 * (issue 14; express-session #988: there, the last instance's cookie options win). An admin area
 * has its own cookie, options, store and data; the app's session and the admin's never see each
 * other's, through real HTTP with cookies carried across requests.
 */
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { isSessionError, MemoryStore, session } from '../../src/index.js'
import { CookieClient, listen, parseSetCookie, type TestServer } from '../helpers/http.js'

const SECRET = 'a-test-secret-that-is-32-chars-long!'
const ADMIN_SECRET = 'another-secret-for-the-admin-area-32!'

const servers: TestServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

function twoSessionApp() {
  const userStore = new MemoryStore()
  const adminStore = new MemoryStore()
  const userSession = session({
    schema: z.object({ views: z.number().int().default(0), theme: z.string().optional() }),
    secret: SECRET,
    store: userStore,
    cookie: { maxAge: 3_600_000 },
    flash: { notice: z.string() },
  })
  const adminSession = session({
    name: 'admin.sid',
    schema: z.object({
      role: z.enum(['none', 'admin']).default('none'),
      visits: z.number().default(0),
    }),
    secret: ADMIN_SECRET,
    store: adminStore,
    cookie: { maxAge: 600_000, path: '/admin', sameSite: 'strict' },
    flash: { audit: z.string() },
  })
  const app = express()
  app.use(userSession)
  app.use('/admin', adminSession)
  app.get('/count', (req, res) => {
    const s = userSession.of(req)
    s.views++
    res.json({ views: s.views, id: s.id, keys: Object.keys(s) })
  })
  app.get(
    '/admin/count',
    adminSession.handler((req, res) => {
      req.session.visits++
      req.flash('audit', `visit ${req.session.visits}`)
      res.json({
        visits: req.session.visits,
        id: req.sessionID,
        keys: Object.keys(req.session),
        // The app's session is still there, untouched, under its own accessor.
        userViews: userSession.of(req).views,
      })
    }),
  )
  app.get(
    '/admin/login',
    adminSession.handler(async (req, res) => {
      const before = req.sessionID
      await req.session.regenerate({ keep: ['visits'] })
      req.session.role = 'admin'
      res.json({ before, after: req.sessionID })
    }),
  )
  app.get(
    '/admin/audit',
    adminSession.handler((req, res) => res.json(req.flash('audit'))),
  )
  app.get(
    '/admin/drop',
    adminSession.handler((req, res) => {
      req.session.visits = 99
      req.session = null
      res.json({ dropped: true })
    }),
  )
  app.get('/outside', (req, res) => {
    try {
      adminSession.of(req)
      res.json({ code: 'none' })
    } catch (err) {
      res.json({ code: isSessionError(err) ? err.code : 'other', message: (err as Error).message })
    }
  })
  app.get(
    '/outside-handler',
    adminSession.handler((_req, res) => res.json({ reached: true })),
  )
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({
        code: isSessionError(err) ? err.code : 'other',
        message: String((err as Error).message),
      })
    },
  )
  return { app, userStore, adminStore, userSession, adminSession }
}

async function start() {
  const parts = twoSessionApp()
  const server = await listen(parts.app)
  servers.push(server)
  return { ...parts, client: new CookieClient(server.url) }
}

function cookieNamed(setCookies: readonly string[], name: string) {
  const line = setCookies.find((candidate) => parseSetCookie(candidate).name === name)
  return line === undefined ? undefined : parseSetCookie(line)
}

/** Seconds until the cookie's `Expires` (the session cookie carries no `Max-Age`). */
function secondsLeft(cookie: ReturnType<typeof cookieNamed>): number {
  return (new Date(cookie?.attributes.get('expires') ?? 0).getTime() - Date.now()) / 1_000
}

describe('two session middlewares on one app', () => {
  it('keeps their cookies, options and data apart', async () => {
    const { client, userStore, adminStore } = await start()
    const first = await client.get('/count')
    expect(JSON.parse(first.body)).toMatchObject({ views: 1, keys: ['views'] })
    const userCookie = cookieNamed(first.setCookies, 'sid')
    expect(first.setCookies, first.setCookies.join(' // ')).toHaveLength(1)
    expect(secondsLeft(userCookie)).toBeGreaterThan(3_500)
    expect(userCookie?.attributes.get('path')).toBe('/')
    expect(cookieNamed(first.setCookies, 'admin.sid')).toBeUndefined()

    const admin = await client.get('/admin/count')
    const body = JSON.parse(admin.body)
    expect(body).toMatchObject({ visits: 1, keys: ['role', 'visits'], userViews: 1 })
    // The admin cookie has the admin's options (express-session #988: not the last instance's).
    const adminCookie = cookieNamed(admin.setCookies, 'admin.sid')
    expect(secondsLeft(adminCookie)).toBeGreaterThan(500)
    expect(secondsLeft(adminCookie)).toBeLessThanOrEqual(600)
    expect(adminCookie?.attributes.get('path')).toBe('/admin')
    expect(adminCookie?.attributes.get('samesite')).toBe('Strict')
    // The app's session was not changed by the admin request: no cookie, nothing written.
    expect(cookieNamed(admin.setCookies, 'sid')).toBeUndefined()

    expect(JSON.parse((await client.get('/count')).body)).toMatchObject({ views: 2 })
    expect(JSON.parse((await client.get('/admin/count')).body)).toMatchObject({
      visits: 2,
      userViews: 2,
    })
    // Each store holds only its own session, with only its own keys.
    const userRecords = Object.values(await userStore.all())
    const adminRecords = Object.values(await adminStore.all())
    expect(userRecords).toHaveLength(1)
    expect(adminRecords).toHaveLength(1)
    expect(userRecords[0]).toMatchObject({ views: 2 })
    expect(userRecords[0]).not.toHaveProperty('visits')
    expect(adminRecords[0]).toMatchObject({ visits: 2, role: 'none' })
    expect(adminRecords[0]).not.toHaveProperty('views')
  })

  it('regenerates, flashes and drops the admin session only', async () => {
    const { client, adminStore } = await start()
    await client.get('/count')
    await client.get('/admin/count')
    const userCookie = client.cookies.get('sid')
    const login = JSON.parse((await client.get('/admin/login')).body)
    expect(login.after).not.toBe(login.before)
    expect(client.cookies.get('sid')).toBe(userCookie)
    const afterLogin = JSON.parse((await client.get('/admin/count')).body)
    expect(afterLogin, afterLogin.message).toMatchObject({ visits: 2 })
    expect(JSON.parse((await client.get('/admin/audit')).body)).toEqual(['visit 1', 'visit 2'])
    expect(JSON.parse((await client.get('/admin/audit')).body)).toEqual([])
    // `req.session = null` through the handler: the `unset` option ('keep') keeps the record as it
    // was, and nothing this request changed is written.
    const before = await adminStore.all()
    await client.get('/admin/drop')
    expect(await adminStore.all()).toEqual(before)
    expect(JSON.parse((await client.get('/admin/count')).body)).toMatchObject({ visits: 3 })
    expect(JSON.parse((await client.get('/count')).body)).toMatchObject({ views: 2 })
  })

  it('says so when a middleware did not run for the request', async () => {
    const { client } = await start()
    const outside = JSON.parse((await client.get('/outside')).body)
    expect(outside.code).toBe('ERR_SESSION_MISUSE')
    expect(outside.message).toContain('has not run for this request')
    const handler = await client.get('/outside-handler')
    expect(handler.status).toBe(500)
    expect(JSON.parse(handler.body)).toMatchObject({ code: 'ERR_SESSION_MISUSE' })
  })

  it('runs both when both are mounted on every path, each with its own cookie', async () => {
    const one = session({
      name: 'one',
      schema: z.object({ a: z.number().default(0) }),
      secret: SECRET,
    })
    const two = session({
      name: 'two',
      schema: z.object({ b: z.number().default(0) }),
      secret: SECRET,
    })
    const app = express()
    app.use(one, two)
    app.get('/', (req, res) => {
      one.of(req).a++
      two.of(req).b += 10
      res.json({
        a: one.of(req).a,
        b: two.of(req).b,
        first: (req.session as unknown) === one.of(req),
      })
    })
    const server = await listen(app)
    servers.push(server)
    const client = new CookieClient(server.url)
    expect(JSON.parse((await client.get('/')).body)).toEqual({ a: 1, b: 10, first: true })
    expect(JSON.parse((await client.get('/')).body)).toEqual({ a: 2, b: 20, first: true })
    expect([...client.cookies.keys()].sort()).toEqual(['one', 'two'])
  })
})
