// Issue 10, the commit phase with a store's native operations, through real HTTP on one process:
// new sessions are created only if their id is free (`create`), flash messages are taken out of
// the store on load and what a handler leaves is given back (`takeFlash`, `patch`'s `flash`), and
// stores without the operations keep today's behaviour.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { inspect } from 'node:util'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { isSessionError, MemoryStore, type SessionStore, session } from '../../src/index.js'
import { CookieClient, listen, type TestServer } from '../helpers/http.js'

const SECRET = 'typed-session-store-operations-secret-0123'
const schema = z.object({ user: z.string().optional() })

type Req = IncomingMessage & {
  session: Record<string, unknown> & { save(): Promise<void>; id: string }
  flash(kind: string, value?: string): unknown
}

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** A MemoryStore that counts its calls. */
function countingStore(): { store: MemoryStore; calls: Record<string, number> } {
  const store = new MemoryStore({ checkPeriodMs: 0 })
  const calls: Record<string, number> = {}
  for (const method of ['set', 'create', 'patch', 'takeFlash'] as const) {
    const original = store[method].bind(store) as (...args: unknown[]) => unknown
    ;(store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      calls[method] = (calls[method] ?? 0) + 1
      return original(...args)
    }
  }
  return { store, calls }
}

async function start(
  store: SessionStore | MemoryStore,
  options: { genid?: () => string } = {},
): Promise<TestServer> {
  const app = express()
  app.use(
    session({
      schema,
      secret: SECRET,
      store,
      flash: { info: z.string() },
      ...(options.genid === undefined ? {} : { genid: options.genid }),
    }) as never,
  )
  app.get('/login', (req, res) => {
    ;(req as unknown as Req).session.user = 'alice'
    res.end('ok')
  })
  app.get('/login-unawaited-save', (req, res) => {
    const r = req as unknown as Req
    r.session.user = 'bob'
    // Fire and forget, as many express-session apps do before a redirect.
    void r.session.save()
    res.end('ok')
  })
  app.get('/flash-set', (req, res) => {
    ;(req as unknown as Req).flash('info', String(req.query.m))
    res.end('ok')
  })
  app.get('/flash-read', (req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify((req as unknown as Req).flash('info')))
  })
  app.get('/flash-read-then-fail', (req, res) => {
    ;(req as unknown as Req).flash('info')
    res.statusCode = 500
    res.end('boom')
  })
  app.get('/ignore', (_req, res) => {
    res.end('not reading the flash')
  })
  app.use((err: unknown, _req: IncomingMessage, res: ServerResponse, _next: unknown) => {
    res.statusCode = isSessionError(err) ? err.status : 500
    res.end(isSessionError(err) ? err.code : String(err))
  })
  server = await listen(app)
  return server
}

describe('new sessions on a store with create()', () => {
  it('are written with create, not set', async () => {
    const { store, calls } = countingStore()
    const browser = new CookieClient((await start(store)).url)
    expect((await browser.get('/login')).status).toBe(200)
    expect(calls).toMatchObject({ create: 1 })
    expect(calls.set).toBeUndefined()
  })

  it('never overwrite a record whose id is taken: ERR_SESSION_STORE, the owner keeps it', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    const taken = 'x'.repeat(32)
    await store.set(taken, { user: 'owner', cookie: { originalMaxAge: null, expires: null } })
    const browser = new CookieClient((await start(store, { genid: () => taken })).url)
    const response = await browser.get('/login')
    expect(response.status).toBe(503)
    expect(response.body).toBe('ERR_SESSION_STORE')
    expect(response.setCookies).toEqual([])
    expect(JSON.parse((await store.get(taken))!)).toMatchObject({ user: 'owner' })
  })

  it('a save() not awaited before the response ends is not mistaken for a taken id', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    const browser = new CookieClient((await start(store)).url)
    const response = await browser.get('/login-unawaited-save')
    expect(response.status).toBe(200)
    expect(response.setCookies).toHaveLength(1)
    const id = decodeURIComponent(browser.cookies.get('sid')!).slice(2).split('.')[0]!
    expect(JSON.parse((await store.get(id))!)).toMatchObject({ user: 'bob' })
  })
})

describe('flash messages on a store with takeFlash()', () => {
  it('a request that does not read the queue gives it back: the next one shows it, once', async () => {
    const { store, calls } = countingStore()
    const browser = new CookieClient((await start(store)).url)
    await browser.get('/login')
    await browser.get('/flash-set?m=saved')
    expect((await browser.get('/ignore')).status).toBe(200)
    expect(calls.takeFlash).toBe(1)
    expect(JSON.parse((await browser.get('/flash-read')).body)).toEqual(['saved'])
    expect(JSON.parse((await browser.get('/flash-read')).body)).toEqual([])
  })

  it('a request that fails (5xx) consumes no message', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    const browser = new CookieClient((await start(store)).url)
    await browser.get('/login')
    await browser.get('/flash-set?m=kept')
    expect((await browser.get('/flash-read-then-fail')).status).toBe(500)
    expect(JSON.parse((await browser.get('/flash-read')).body)).toEqual(['kept'])
  })

  it('messages queued in two requests are both kept, in order', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    const browser = new CookieClient((await start(store)).url)
    await browser.get('/login')
    await browser.get('/flash-set?m=one')
    await browser.get('/flash-set?m=two')
    expect(JSON.parse((await browser.get('/flash-read')).body)).toEqual(['one', 'two'])
  })

  it('a session without pending messages costs no takeFlash call', async () => {
    const { store, calls } = countingStore()
    const browser = new CookieClient((await start(store)).url)
    await browser.get('/login')
    await browser.get('/ignore')
    await browser.get('/flash-read')
    expect(calls.takeFlash).toBeUndefined()
  })
})

describe('store errors of create() and takeFlash()', () => {
  it('reach the error handler as ERR_SESSION_STORE without the session id', async () => {
    const memory = new MemoryStore({ checkPeriodMs: 0 })
    let failCreate = true
    let failTake = false
    const store: SessionStore = {
      get: (id) => memory.get(id),
      set: (id, record) => memory.set(id, record),
      destroy: (id) => memory.destroy(id),
      patch: (id, patch) => memory.patch(id, patch),
      create: (id, record) =>
        failCreate
          ? Promise.reject(new Error(`create failed for ${id}`))
          : memory.create(id, record),
      takeFlash: (id) =>
        failTake ? Promise.reject(new Error(`take failed for ${id}`)) : memory.takeFlash(id),
    }
    const errors: unknown[] = []
    const app = express()
    app.use(session({ schema, secret: SECRET, store, flash: { info: z.string() } }) as never)
    app.get('/login', (req, res) => {
      ;(req as unknown as Req).session.user = 'alice'
      res.end('ok')
    })
    app.get('/flash-set', (req, res) => {
      ;(req as unknown as Req).flash('info', 'hello')
      res.end('ok')
    })
    app.use((err: unknown, _req: IncomingMessage, res: ServerResponse, _next: unknown) => {
      errors.push(err)
      res.statusCode = isSessionError(err) ? err.status : 500
      res.end(isSessionError(err) ? err.code : 'other')
    })
    server = await listen(app)
    const browser = new CookieClient(server.url)
    expect((await browser.get('/login')).body).toBe('ERR_SESSION_STORE')
    failCreate = false
    expect((await browser.get('/login')).status).toBe(200)
    await browser.get('/flash-set')
    failTake = true
    expect((await browser.get('/login')).body).toBe('ERR_SESSION_STORE')
    expect(errors).toHaveLength(2)
    for (const err of errors) {
      expect(isSessionError(err) && err.code).toBe('ERR_SESSION_STORE')
      const text = inspect(err, { depth: 10 })
      expect(text).toMatch(/(create|take) failed for/)
      // Default ids are 32 characters; what may remain of one is too short to replay.
      expect(text).not.toMatch(/failed for [A-Za-z0-9_-]{32}/)
    }
  })
})

describe('a native store without create() or takeFlash()', () => {
  it('keeps working through set and the in-record flash queue', async () => {
    const memory = new MemoryStore({ checkPeriodMs: 0 })
    // Only the base contract plus patch: what stores written before issue 10 have.
    const store: SessionStore = {
      get: (id) => memory.get(id),
      set: (id, record) => memory.set(id, record),
      destroy: (id) => memory.destroy(id),
      patch: (id, patch) => memory.patch(id, patch),
    }
    const browser = new CookieClient((await start(store)).url)
    expect((await browser.get('/login')).status).toBe(200)
    await browser.get('/flash-set?m=legacy')
    await browser.get('/ignore')
    expect(JSON.parse((await browser.get('/flash-read')).body)).toEqual(['legacy'])
    expect(JSON.parse((await browser.get('/flash-read')).body)).toEqual([])
  })
})
