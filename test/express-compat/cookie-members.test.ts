// Issue 11: `req.session.cookie` as express-session's handlers use it. Setting `expires` (a date,
// or `null` for a "remember me" box left unticked) moves the lifetime, as in express-session; a
// handler's `secure` counts when the cookie is decided at the end.
import express, { type Request, type Response } from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryStore, session } from '../../src/index.js'
import { idOfCookie, SECRET, storedRecord } from '../flash/support.js'
import { CookieClient, listen, parseSetCookie, type TestServer } from '../helpers/http.js'

const DAY = 86_400_000
const schema = z.object({ user: z.string().optional(), visits: z.number().default(0) })

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function start() {
  const store = new MemoryStore({ checkPeriodMs: 0 })
  const app = express()
  app.use(session({ schema, secret: SECRET, store, cookie: { maxAge: DAY } }))
  app.get('/login', (req: Request, res: Response) => {
    req.session.user = 'alice'
    const remember = String(req.query.remember)
    if (remember === 'no') req.session.cookie.expires = null
    else if (remember === 'month') req.session.cookie.expires = new Date(Date.now() + 30 * DAY)
    res.json({
      maxAge: req.session.cookie.maxAge ?? null,
      original: req.session.cookie.originalMaxAge,
    })
  })
  app.get('/visit', (req: Request, res: Response) => {
    ;(req.session as unknown as { visits: number }).visits++
    res.json({ maxAge: req.session.cookie.maxAge ?? null })
  })
  app.get('/secure-only', (req: Request, res: Response) => {
    req.session.user = 'alice'
    req.session.cookie.secure = true
    res.json({ ok: true })
  })
  server = await listen(app)
  return { store, client: new CookieClient(server.url) }
}

function expiresOf(setCookie: string | undefined): number | undefined {
  if (setCookie === undefined) return undefined
  const value = parseSetCookie(setCookie).attributes.get('expires')
  return value === undefined ? undefined : new Date(value).getTime()
}

describe('req.session.cookie.expires', () => {
  it('= null gives a browser-session cookie that stays one', async () => {
    const { store, client } = await start()
    const login = await client.get('/login?remember=no')
    expect(JSON.parse(login.body)).toEqual({ maxAge: null, original: null })
    expect(login.setCookies).toHaveLength(1)
    expect(parseSetCookie(login.setCookies[0]!).attributes.has('expires')).toBe(false)
    const id = idOfCookie(client.cookies.get('sid'))!
    expect((await storedRecord(store, id))?.cookie).toMatchObject({
      expires: null,
      originalMaxAge: null,
    })
    // Later saves keep it a browser-session cookie: no expiry comes back.
    const visit = await client.get('/visit')
    expect(JSON.parse(visit.body)).toEqual({ maxAge: null })
    expect(visit.setCookies.every((line) => !/expires=/i.test(line))).toBe(true)
    expect((await storedRecord(store, id))?.cookie).toMatchObject({ expires: null })
  })

  it('= a date sets the lifetime, kept by later saves', async () => {
    const { store, client } = await start()
    const before = Date.now()
    const login = await client.get('/login?remember=month')
    const { maxAge, original } = JSON.parse(login.body)
    expect(maxAge).toBeGreaterThan(30 * DAY - 60_000)
    expect(original).toBeGreaterThan(30 * DAY - 60_000)
    expect(expiresOf(login.setCookies[0])).toBeGreaterThan(before + 30 * DAY - 60_000)
    const id = idOfCookie(client.cookies.get('sid'))!
    const stored = (await storedRecord(store, id)) as { cookie: { originalMaxAge: number } }
    expect(stored.cookie.originalMaxAge).toBeGreaterThan(30 * DAY - 60_000)
    const visit = await client.get('/visit')
    expect(expiresOf(visit.setCookies[0])).toBeGreaterThan(Date.now() + 29 * DAY)
  })
})

describe('req.session.cookie.secure set by a handler', () => {
  it('on plain HTTP, a new session is neither sent as a Secure cookie nor saved', async () => {
    const { store, client } = await start()
    const response = await client.get('/secure-only')
    expect(response.status).toBe(200)
    expect(response.setCookies).toEqual([])
    expect(store.size).toBe(0)
  })
})
