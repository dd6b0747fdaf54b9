import express, { type NextFunction, type Request, type Response } from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { isSessionError, MemoryStore, type SessionEvent, session } from '../../src/index.js'
import { idOfCookie, SECRET, storedRecord } from '../flash/support.js'
import { CookieClient, listen, parseSetCookie, type TestServer } from '../helpers/http.js'

const schema = z.object({
  userId: z.string().optional(),
  views: z.number().int().default(0),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int() })).default([]),
  theme: z.enum(['light', 'dark']).default('light'),
})

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** A promise with its resolve function, to hold a request at a known point without timers. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((done) => {
    resolve = done
  })
  return { promise, resolve }
}

/** The error code of a rejected promise (or of a throwing call), for asserting misuse. */
async function codeOf(action: () => unknown): Promise<string> {
  try {
    await action()
    return 'resolved'
  } catch (err) {
    return isSessionError(err) ? err.code : err instanceof TypeError ? 'TypeError' : String(err)
  }
}

function state(req: Request): Record<string, unknown> {
  const { userId, views, cart, theme } = req.session
  return { id: req.sessionID, userId, views, cart, theme }
}

interface Hooks {
  /** Resolved by the app when `/slow-write` has loaded its session. */
  slowEntered?: ReturnType<typeof deferred>
  /** Resolved by the test to let `/slow-write` finish. */
  slowGate?: ReturnType<typeof deferred>
}

function regenerateApp(
  store: MemoryStore,
  events: SessionEvent[] = [],
  hooks: Hooks = {},
): express.Express {
  const app = express()
  app.use(express.json())
  app.use(
    session({
      schema,
      secret: SECRET,
      store,
      flash: { info: z.string() },
      onEvent: (event) => events.push(event),
    }),
  )
  app.get('/state', (req, res) => res.json(state(req)))
  app.post('/setup', (req, res) => {
    req.session.views = 3
    req.session.cart = [{ sku: 'a', qty: 1 }]
    req.session.theme = 'dark'
    res.json(state(req))
  })
  app.post('/flash', (req, res) => {
    req.flash('info', 'pending')
    res.json(state(req))
  })
  app.get('/flash', (req, res) => res.json({ info: req.flash('info') }))
  // A login: new id, the user id set on the new session.
  app.post('/login', async (req, res) => {
    const oldId = req.sessionID
    const keep = (req.body as { keep?: string[] } | undefined)?.keep
    await req.session.regenerate(keep === undefined ? undefined : { keep })
    req.session.userId = 'u1'
    res.json({ oldId, sessionId: req.session.id, ...state(req) })
  })
  app.post('/login-flash', async (req, res) => {
    req.flash('info', 'before')
    await req.session.regenerate()
    req.flash('info', 'after')
    res.json(state(req))
  })
  app.post('/login-bad-cart', async (req, res) => {
    const oldId = req.sessionID
    const cart = req.session.cart
    req.session.cart = [{ sku: 'a', qty: 1.5 }]
    const code = await codeOf(() => req.session.regenerate({ keep: ['cart'] }))
    // Still the same, current session: the handler can repair it and carry on.
    req.session.cart = cart
    res.json({ code, sameId: req.sessionID === oldId, sameObject: true, ...state(req) })
  })
  app.post('/stale', async (req, res) => {
    const old = req.session
    const oldCookie = req.session.cookie
    const oldId = req.sessionID
    await req.session.regenerate()
    const results = {
      frozen: Object.isFrozen(old),
      write: await codeOf(() => {
        old.views = 99
      }),
      save: await codeOf(() => old.save()),
      reload: await codeOf(() => old.reload()),
      regenerate: await codeOf(() => old.regenerate()),
      destroy: await codeOf(() => old.destroy()),
      touch: await codeOf(() => old.touch()),
      resetMaxAge: await codeOf(() => old.resetMaxAge()),
      cookieWrite: await codeOf(() => {
        old.cookie.maxAge = 1
      }),
      saveCallback: await new Promise<string>((resolve) => {
        old.save((err?: unknown) => resolve(isSessionError(err) ? err.code : String(err)))
      }),
      oldIdKept: old.id === oldId,
      oldCookieKept: old.cookie === oldCookie,
      newCookieSeparate: req.session.cookie !== oldCookie,
    }
    res.json({ oldId, results, ...state(req) })
  })
  app.post('/login-callback', (req, res, next) => {
    const oldId = req.sessionID
    let calls = 0
    const returned = req.session.regenerate((err?: unknown) => {
      calls++
      if (err) return next(err)
      req.session.userId = 'cb'
      setImmediate(() =>
        res.json({ oldId, calls, returnedSession: returned === old, ...state(req) }),
      )
    })
    const old = req.session
  })
  // SECURITY-CASES B8: regenerate, save, modify, regenerate again, all in one request.
  app.post('/double', async (req, res) => {
    const ids = [req.sessionID]
    await req.session.regenerate()
    req.session.userId = 'first'
    await req.session.save()
    ids.push(req.sessionID)
    req.session.views = 5
    await req.session.regenerate({ keep: ['views'] })
    req.session.userId = 'final'
    ids.push(req.sessionID)
    res.json({ ids, ...state(req) })
  })
  // Loads the session, then waits for the test before writing to it.
  app.post('/slow-write', async (req, res) => {
    hooks.slowEntered?.resolve()
    await hooks.slowGate?.promise
    req.session.views = 42
    res.json(state(req))
  })
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ code: isSessionError(err) ? err.code : String(err) })
  })
  return app
}

function sessionCookies(setCookies: string[], name = 'sid'): string[] {
  return setCookies.filter((line) => parseSetCookie(line).name === name)
}

describe('req.session.regenerate()', () => {
  it('gives a new id, destroys the old record and resets the data to the schema defaults', async () => {
    const store = new MemoryStore()
    server = await listen(regenerateApp(store))
    const client = new CookieClient(server.url)
    await client.post('/setup')
    const oldId = idOfCookie(client.cookies.get('sid'))!
    expect(await storedRecord(store, oldId)).toMatchObject({ views: 3, theme: 'dark' })

    const login = await client.post('/login')
    const body = JSON.parse(login.body)
    expect(body.oldId).toBe(oldId)
    expect(body.id).not.toBe(oldId)
    expect(body.sessionId).toBe(body.id)
    expect(body).toMatchObject({ userId: 'u1', views: 0, cart: [], theme: 'light' })
    expect(sessionCookies(login.setCookies)).toHaveLength(1)
    expect(idOfCookie(client.cookies.get('sid'))).toBe(body.id)

    expect(await storedRecord(store, oldId)).toBeUndefined()
    expect(await storedRecord(store, body.id)).toMatchObject({
      userId: 'u1',
      views: 0,
      theme: 'light',
    })
    expect(store.size).toBe(1)
    expect(JSON.parse((await client.get('/state')).body)).toMatchObject({
      id: body.id,
      userId: 'u1',
    })
  })

  it('carries the keys named in keep over to the new session', async () => {
    const store = new MemoryStore()
    server = await listen(regenerateApp(store))
    const client = new CookieClient(server.url)
    await client.post('/setup')
    const body = JSON.parse((await client.post('/login', { keep: ['cart', 'theme'] })).body)
    expect(body).toMatchObject({
      userId: 'u1',
      views: 0,
      cart: [{ sku: 'a', qty: 1 }],
      theme: 'dark',
    })
    expect(await storedRecord(store, body.id)).toMatchObject({
      cart: [{ sku: 'a', qty: 1 }],
      theme: 'dark',
    })
  })

  it('validates kept values again and leaves the session untouched when they fail', async () => {
    const store = new MemoryStore()
    server = await listen(regenerateApp(store))
    const client = new CookieClient(server.url)
    await client.post('/setup')
    const oldId = idOfCookie(client.cookies.get('sid'))!
    const response = await client.post('/login-bad-cart')
    expect(JSON.parse(response.body)).toMatchObject({
      code: 'ERR_SESSION_INVALID_DATA',
      sameId: true,
      id: oldId,
      views: 3,
    })
    // The old record was not destroyed by the failed regenerate, and the session still works.
    expect(await storedRecord(store, oldId)).toMatchObject({ views: 3, theme: 'dark' })
    expect(JSON.parse((await client.get('/state')).body)).toMatchObject({ id: oldId, views: 3 })
  })

  it('keeps pending flash messages, queued before or in the regenerating request', async () => {
    const store = new MemoryStore()
    server = await listen(regenerateApp(store))
    const client = new CookieClient(server.url)
    await client.post('/flash')
    const oldId = idOfCookie(client.cookies.get('sid'))
    await client.post('/login-flash')
    expect(idOfCookie(client.cookies.get('sid'))).not.toBe(oldId)
    expect(JSON.parse((await client.get('/flash')).body)).toEqual({
      info: ['pending', 'before', 'after'],
    })
    expect(JSON.parse((await client.get('/flash')).body)).toEqual({ info: [] })
  })

  it('freezes the old object: a stale reference cannot write into the new session or resurrect the old one', async () => {
    const store = new MemoryStore()
    server = await listen(regenerateApp(store))
    const client = new CookieClient(server.url)
    await client.post('/setup')
    const response = await client.post('/stale')
    const body = JSON.parse(response.body)
    expect(body.results).toEqual({
      frozen: true,
      write: 'TypeError',
      save: 'ERR_SESSION_DESTROYED',
      reload: 'ERR_SESSION_DESTROYED',
      regenerate: 'ERR_SESSION_DESTROYED',
      destroy: 'ERR_SESSION_DESTROYED',
      touch: 'ERR_SESSION_DESTROYED',
      resetMaxAge: 'ERR_SESSION_DESTROYED',
      cookieWrite: 'TypeError',
      saveCallback: 'ERR_SESSION_DESTROYED',
      oldIdKept: true,
      oldCookieKept: true,
      newCookieSeparate: true,
    })
    // The new session holds the defaults, not the 99 the stale reference tried to write.
    expect(body).toMatchObject({ views: 0, theme: 'light' })
    expect(await storedRecord(store, body.oldId)).toBeUndefined()
    expect(await storedRecord(store, body.id)).toMatchObject({ views: 0 })
    expect(store.size).toBe(1)
  })

  it('blocks a write from an overlapping request that still holds the old session', async () => {
    const store = new MemoryStore()
    const events: SessionEvent[] = []
    const hooks = { slowEntered: deferred(), slowGate: deferred() }
    server = await listen(regenerateApp(store, events, hooks))
    const client = new CookieClient(server.url)
    await client.post('/setup')
    const oldId = idOfCookie(client.cookies.get('sid'))!
    const slowClient = new CookieClient(server.url)
    slowClient.cookies.set('sid', client.cookies.get('sid')!)

    const slow = slowClient.post('/slow-write')
    await hooks.slowEntered.promise
    const login = JSON.parse((await client.post('/login')).body)
    hooks.slowGate.resolve()
    const slowResponse = await slow
    expect(slowResponse.status).toBe(200)

    expect(await storedRecord(store, oldId)).toBeUndefined()
    expect(await storedRecord(store, login.id)).toMatchObject({ userId: 'u1', views: 0 })
    expect(store.size).toBe(1)
    expect(events).toContainEqual(expect.objectContaining({ type: 'resurrection_blocked' }))
  })

  it('works with a node-style callback, as Passport calls it', async () => {
    const store = new MemoryStore()
    server = await listen(regenerateApp(store))
    const client = new CookieClient(server.url)
    await client.post('/setup')
    const body = JSON.parse((await client.post('/login-callback')).body)
    expect(body).toMatchObject({ calls: 1, returnedSession: true, userId: 'cb', views: 0 })
    expect(body.id).not.toBe(body.oldId)
    expect(await storedRecord(store, body.oldId)).toBeUndefined()
    expect(JSON.parse((await client.get('/state')).body)).toMatchObject({
      id: body.id,
      userId: 'cb',
    })
  })
})

describe('session fixation and regeneration (SECURITY-CASES B)', () => {
  it('B2: a login on an attacker-planted cookie leaves the attacker an empty anonymous session', async () => {
    const store = new MemoryStore()
    server = await listen(regenerateApp(store))
    const attacker = new CookieClient(server.url)
    await attacker.post('/setup')
    const c0 = attacker.cookies.get('sid')!
    const victim = new CookieClient(server.url)
    victim.cookies.set('sid', c0)

    const login = JSON.parse((await victim.post('/login')).body)
    const c1 = victim.cookies.get('sid')!
    expect(c1).not.toBe(c0)
    expect(idOfCookie(c1)).toBe(login.id)
    expect(await storedRecord(store, idOfCookie(c0)!)).toBeUndefined()

    const seen = await attacker.get('/state')
    const anonymous = JSON.parse(seen.body)
    expect(anonymous).toMatchObject({ views: 0, cart: [], theme: 'light' })
    expect(anonymous).not.toHaveProperty('userId')
    expect(anonymous.id).not.toBe(idOfCookie(c0))
    expect(anonymous.id).not.toBe(login.id)
    // Reading created nothing: no record at C0, none for the attacker, the victim's untouched.
    expect(seen.setCookies).toEqual([])
    expect(await storedRecord(store, idOfCookie(c0)!)).toBeUndefined()
    expect(store.size).toBe(1)
    expect(JSON.parse((await victim.get('/state')).body)).toMatchObject({ userId: 'u1' })
  })

  it('B8: regenerate, save, modify, regenerate again in one request leaves one record and one cookie', async () => {
    const store = new MemoryStore()
    server = await listen(regenerateApp(store))
    const client = new CookieClient(server.url)
    await client.post('/setup')
    const response = await client.post('/double')
    const body = JSON.parse(response.body)
    const [id0, id1, id2] = body.ids as [string, string, string]
    expect(new Set([id0, id1, id2]).size).toBe(3)
    expect(body).toMatchObject({ id: id2, userId: 'final', views: 5, theme: 'light' })

    const cookies = sessionCookies(response.setCookies)
    expect(cookies).toHaveLength(1)
    expect(idOfCookie(parseSetCookie(cookies[0]!).value)).toBe(id2)

    expect(await storedRecord(store, id0)).toBeUndefined()
    expect(await storedRecord(store, id1)).toBeUndefined()
    expect(await storedRecord(store, id2)).toMatchObject({ userId: 'final', views: 5 })
    expect(store.size).toBe(1)
  })
})
