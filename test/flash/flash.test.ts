import express, { type NextFunction, type Request, type Response } from 'express'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import {
  isSessionError,
  MemoryStore,
  type SessionEvent,
  type SessionStore,
  session,
} from '../../src/index.js'
import { CookieClient, listen, type TestServer } from '../helpers/http.js'
import {
  DelayingStore,
  idOfCookie,
  plantedId,
  presentId,
  SECRET,
  STORED_COOKIE,
  storedRecord,
} from './support.js'

const schema = z.object({ views: z.number().int().default(0) })
const flashKinds = {
  info: z.string(),
  error: z.string(),
  formErrors: z.record(z.string(), z.string()),
}

let server: TestServer | undefined
afterEach(async () => {
  vi.useRealTimers()
  await server?.close()
  server = undefined
})

interface AppOptions {
  store?: SessionStore | MemoryStore
  onEvent?: (event: SessionEvent) => void
}

/** An Express 5 app that exposes connect-flash's three call shapes as routes. */
function flashApp({ store = new MemoryStore(), onEvent }: AppOptions = {}): express.Express {
  const app = express()
  app.use(express.json())
  app.use(
    session({
      schema,
      secret: SECRET,
      flash: flashKinds,
      store,
      ...(onEvent === undefined ? {} : { onEvent }),
    }),
  )
  // Queue each [kind, value] of the body; answer with what each call returned.
  app.post('/flash', (req, res) => {
    const messages = (req.body as { messages: [string, unknown][] }).messages
    res.json({ lengths: messages.map(([kind, value]) => req.flash(kind, value)) })
  })
  app.get('/flash/:kind', (req, res) => {
    const first = req.flash(req.params.kind)
    res.json({ first, again: req.flash(req.params.kind) })
  })
  app.get('/flash', (req, res) => res.json({ all: req.flash(), again: req.flash() }))
  app.get('/views', (req, res) => res.json({ views: req.session.views, id: req.sessionID }))
  app.post('/views', (req, res) => {
    req.session.views = (req.session.views as number) + 1
    res.json({ views: req.session.views, id: req.sessionID })
  })
  // The post / redirect / get pattern connect-flash exists for.
  app.post('/save', (req, res) => {
    req.flash('info', 'Saved')
    res.redirect('/show')
  })
  app.get('/show', (req, res) => res.json({ info: req.flash('info') }))
  app.get('/show-then-fail', (req, res) => {
    const info = req.flash('info')
    res.status(500).json({ info })
  })
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(isSessionError(err) ? err.status : 500).json({
      code: isSessionError(err) ? err.code : String(err),
    })
  })
  return app
}

describe('req.flash call shapes (connect-flash compatible)', () => {
  it('queues with flash(kind, value) and returns the queue length of that kind', async () => {
    server = await listen(flashApp())
    const client = new CookieClient(server.url)
    const first = await client.post('/flash', {
      messages: [
        ['info', 'one'],
        ['info', 'two'],
        ['error', 'bad'],
      ],
    })
    expect(JSON.parse(first.body)).toEqual({ lengths: [1, 2, 1] })
    // The length counts the messages still queued from earlier requests, as connect-flash's does.
    const second = await client.post('/flash', { messages: [['info', 'three']] })
    expect(JSON.parse(second.body)).toEqual({ lengths: [3] })
  })

  it('returns the values of one kind with flash(kind) and removes them; [] when none', async () => {
    server = await listen(flashApp())
    const client = new CookieClient(server.url)
    await client.post('/flash', {
      messages: [
        ['formErrors', { email: 'Email is required' }],
        ['formErrors', { name: 'Too long' }],
        ['info', 'kept'],
      ],
    })
    const taken = await client.get('/flash/formErrors')
    expect(JSON.parse(taken.body)).toEqual({
      first: [{ email: 'Email is required' }, { name: 'Too long' }],
      again: [],
    })
    // Gone for good; the other kind is untouched.
    expect(JSON.parse((await client.get('/flash/formErrors')).body).first).toEqual([])
    expect(JSON.parse((await client.get('/flash/info')).body).first).toEqual(['kept'])
    expect(JSON.parse((await client.get('/flash/error')).body).first).toEqual([])
  })

  it('returns and removes every kind with flash()', async () => {
    server = await listen(flashApp())
    const client = new CookieClient(server.url)
    await client.post('/flash', {
      messages: [
        ['info', 'a'],
        ['error', 'b'],
        ['info', 'c'],
      ],
    })
    const all = await client.get('/flash')
    expect(JSON.parse(all.body)).toEqual({ all: { info: ['a', 'c'], error: ['b'] }, again: {} })
    expect(JSON.parse((await client.get('/flash')).body).all).toEqual({})
  })

  it('throws ERR_SESSION_MISUSE for a kind the flash option does not declare', async () => {
    server = await listen(flashApp())
    const response = await new CookieClient(server.url).post('/flash', {
      messages: [['notice', 'hi']],
    })
    expect(response.status).toBe(500)
    expect(JSON.parse(response.body)).toEqual({ code: 'ERR_SESSION_MISUSE' })
  })

  it('throws ERR_SESSION_INVALID_DATA for a value its kind rejects, and queues nothing', async () => {
    const store = new MemoryStore()
    server = await listen(flashApp({ store }))
    const client = new CookieClient(server.url)
    const response = await client.post('/flash', { messages: [['formErrors', 'not a record']] })
    expect(response.status).toBe(500)
    expect(JSON.parse(response.body)).toEqual({ code: 'ERR_SESSION_INVALID_DATA' })
    expect(store.size).toBe(0)
  })
})

describe('flash storage', () => {
  it('stores pending messages under `flash` in the session record and drops the key when empty', async () => {
    const store = new MemoryStore()
    server = await listen(flashApp({ store }))
    const client = new CookieClient(server.url)
    await client.post('/flash', { messages: [['info', 'x']] })
    const id = idOfCookie(client.cookies.get('sid'))!
    expect(await storedRecord(store, id)).toMatchObject({ views: 0, flash: { info: ['x'] } })
    await client.get('/flash/info')
    const after = await storedRecord(store, id)
    expect(after).toBeDefined()
    expect(after).not.toHaveProperty('flash')
  })

  it('delivers messages from a record written by express-session + connect-flash', async () => {
    const store = new MemoryStore()
    const id = plantedId('connectflash')
    // What connect-flash leaves in an express-session record.
    await store.set(id, { cookie: STORED_COOKIE, flash: { info: ['x'], error: ['y', 'z'] } })
    server = await listen(flashApp({ store }))
    const client = new CookieClient(server.url)
    presentId(client, id)
    const response = await client.get('/flash')
    expect(JSON.parse(response.body).all).toEqual({ info: ['x'], error: ['y', 'z'] })
    // Same session (the id was valid and known), messages consumed in the store too.
    expect(response.setCookies).toEqual([])
    expect(await storedRecord(store, id)).not.toHaveProperty('flash')
    expect(JSON.parse((await client.get('/flash')).body).all).toEqual({})
  })

  it('drops one invalid message, reports it through onEvent, and keeps the valid ones and the session', async () => {
    const store = new MemoryStore()
    const events: SessionEvent[] = []
    const id = plantedId('badflash')
    await store.set(id, {
      cookie: STORED_COOKIE,
      views: 7,
      flash: { info: ['ok', 42, 'fine'], error: ['kept'] },
    })
    server = await listen(flashApp({ store, onEvent: (event) => events.push(event) }))
    const client = new CookieClient(server.url)
    presentId(client, id)
    // A request that does not read flash still cleans the stored queue.
    const views = await client.get('/views')
    expect(JSON.parse(views.body)).toEqual({ views: 7, id })
    const flashEvents = events.filter((event) => event.type === 'invalid_flash')
    expect(flashEvents).toHaveLength(1)
    expect(flashEvents[0]).toMatchObject({ type: 'invalid_flash', kind: 'info' })
    expect(
      flashEvents[0]!.type === 'invalid_flash' && flashEvents[0]!.issues.length,
    ).toBeGreaterThan(0)
    expect(events.some((event) => event.type === 'invalid_data')).toBe(false)
    expect(await storedRecord(store, id)).toMatchObject({
      views: 7,
      flash: { info: ['ok', 'fine'], error: ['kept'] },
    })
    const all = await client.get('/flash')
    expect(JSON.parse(all.body).all).toEqual({ info: ['ok', 'fine'], error: ['kept'] })
  })

  it('drops and reports a kind the app no longer declares', async () => {
    const store = new MemoryStore()
    const events: SessionEvent[] = []
    const id = plantedId('oldkind')
    await store.set(id, { cookie: STORED_COOKIE, flash: { success: ['old'], info: ['new'] } })
    server = await listen(flashApp({ store, onEvent: (event) => events.push(event) }))
    const client = new CookieClient(server.url)
    presentId(client, id)
    expect(JSON.parse((await client.get('/flash')).body).all).toEqual({ info: ['new'] })
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'invalid_flash', kind: 'success' }),
    )
  })
})

describe('flash across a redirect', () => {
  /** Settle `request` while fake time moves in 5 ms steps; bounded so a hang fails the test. */
  async function drive<T>(request: Promise<T>): Promise<T> {
    let settled = false
    const done = request.finally(() => {
      settled = true
    })
    for (let round = 0; round < 400 && !settled; round++) {
      // Let real I/O (sockets) run, then move the store's timers on.
      await new Promise((resolve) => setImmediate(resolve))
      await vi.advanceTimersByTimeAsync(5)
    }
    if (!settled) throw new Error('request did not finish within 2 s of fake time')
    return done
  }

  it('shows a message queued before res.redirect() on the very next request, even from a slow store', async () => {
    const store = new DelayingStore(50)
    server = await listen(flashApp({ store }))
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const client = new CookieClient(server.url)

    const redirect = await drive(client.post('/save'))
    store.log.push('response')
    expect(redirect.status).toBe(302)
    expect(redirect.headers.get('location')).toBe('/show')
    // The redirect left only after the slow write had finished (connect-flash #23 lost it here).
    expect(store.log).toEqual(['set:start', 'set:done', 'response'])

    const shown = await drive(client.get('/show'))
    expect(JSON.parse(shown.body)).toEqual({ info: ['Saved'] })
    const gone = await drive(client.get('/show'))
    expect(JSON.parse(gone.body)).toEqual({ info: [] })
  })

  it('keeps a message whose reading request failed with a 5xx (nothing was saved)', async () => {
    server = await listen(flashApp())
    const client = new CookieClient(server.url)
    await client.post('/save')
    const failed = await client.get('/show-then-fail')
    expect(failed.status).toBe(500)
    expect(JSON.parse(failed.body)).toEqual({ info: ['Saved'] })
    expect(JSON.parse((await client.get('/show')).body)).toEqual({ info: ['Saved'] })
    expect(JSON.parse((await client.get('/show')).body)).toEqual({ info: [] })
  })
})

describe('flash on a new visitor (saveUninitialized: false)', () => {
  it('creates the session when a message is queued', async () => {
    const store = new MemoryStore()
    server = await listen(flashApp({ store }))
    const client = new CookieClient(server.url)
    const response = await client.post('/save')
    expect(response.setCookies).toHaveLength(1)
    const id = idOfCookie(client.cookies.get('sid'))!
    expect(await storedRecord(store, id)).toMatchObject({ flash: { info: ['Saved'] } })
    expect(JSON.parse((await client.get('/show')).body)).toEqual({ info: ['Saved'] })
  })

  it('creates nothing when the visitor only reads (no message, no cookie, no record)', async () => {
    const store = new MemoryStore()
    server = await listen(flashApp({ store }))
    const response = await new CookieClient(server.url).get('/show')
    expect(JSON.parse(response.body)).toEqual({ info: [] })
    expect(response.setCookies).toEqual([])
    expect(store.size).toBe(0)
  })
})

describe('flash option checks', () => {
  it('accepts a zod object as the flash option (one schema per kind in its shape)', async () => {
    const app = express()
    app.use(session({ schema, secret: SECRET, flash: z.object({ notice: z.number().int() }) }))
    app.get('/queue', (req, res) => res.json({ length: req.flash('notice', 7) }))
    app.get('/take', (req, res) => res.json({ notice: req.flash('notice') }))
    server = await listen(app)
    const client = new CookieClient(server.url)
    expect(JSON.parse((await client.get('/queue')).body)).toEqual({ length: 1 })
    expect(JSON.parse((await client.get('/take')).body)).toEqual({ notice: [7] })
  })

  it('rejects at session() a flash kind that collides with a session data key', () => {
    const colliding = { views: z.string() }
    const call = (): unknown =>
      // @ts-expect-error: the collision is a compile error too (types-test/flash.test-d.ts)
      session({ schema, secret: SECRET, flash: colliding })
    expect(call).toThrow(/flash kind "views" collides with a session data key/)
    try {
      call()
    } catch (err) {
      expect(isSessionError(err) && err.code).toBe('ERR_SESSION_OPTIONS')
    }
  })
})
