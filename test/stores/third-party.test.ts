// Issue 11: stores written for express-session read the record's `cookie` as express-session's
// `Cookie` (a `maxAge` getter, a `Date` `expires`). Given a plain object they fell back to their
// one-day default: a 7-day session was gone after one day. Each store here keeps it 7 days.
import connectSessionSequelize from 'connect-session-sequelize'
import connectSqlite3 from 'connect-sqlite3'
import express, { type Request, type Response } from 'express'
import createMemoryStore from 'memorystore'
import { Sequelize } from 'sequelize'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { Store, session } from '../../src/index.js'
import { idOfCookie, SECRET } from '../flash/support.js'
import { CookieClient, listen, type TestServer } from '../helpers/http.js'

const DAY = 86_400_000
const WEEK = 7 * DAY
const schema = z.object({ user: z.string().optional() })

/** One store under test: how to make it, read its own expiry for an id, and close it. */
interface Backend {
  readonly store: object
  /** The expiry the store itself keeps for `id`, in ms since the epoch (undefined: none kept). */
  expiryOf(id: string): Promise<number | undefined>
  /** Let the store drop what it considers expired (for stores that only sweep). */
  sweep(): Promise<void>
  close(): Promise<void>
}

const backends: Record<string, () => Promise<Backend>> = {
  async memorystore() {
    const MemoryStore = createMemoryStore({ Store } as never)
    const store = new MemoryStore({ checkPeriod: 0 }) as unknown as {
      store: { dump(): Array<{ k: string; e: number }> }
      stopInterval(): void
    }
    return {
      store,
      async expiryOf(id) {
        // lru-cache keeps each entry's expiry (`e`, ms since the epoch).
        return store.store.dump().find((entry) => entry.k === id)?.e
      },
      async sweep() {},
      async close() {
        store.stopInterval()
      },
    }
  },
  async 'connect-sqlite3'() {
    const SQLiteStore = connectSqlite3({ Store })
    const store = new SQLiteStore({ db: ':memory:' })
    await new Promise((resolve) => store.client.once('connect', resolve))
    const db = store.db as unknown as {
      get(
        sql: string,
        params: unknown[],
        cb: (err: Error | null, row?: { expired: number }) => void,
      ): void
    }
    return {
      store,
      expiryOf: (id) =>
        new Promise((resolve, reject) =>
          db.get('SELECT expired FROM sessions WHERE sid = ?', [id], (err, row) =>
            err ? reject(err) : resolve(row?.expired),
          ),
        ),
      async sweep() {},
      close: () => new Promise((resolve) => store.db.close(() => resolve())),
    }
  },
  async 'connect-session-sequelize (SQLite)'() {
    const db = new Sequelize({ dialect: 'sqlite', storage: ':memory:', logging: false })
    const SequelizeStore = connectSessionSequelize(Store)
    const store = new SequelizeStore({ db, checkExpirationInterval: 0x7fffffff })
    await store.sync()
    return {
      store,
      async expiryOf(id) {
        const row = await store.sessionModel.findOne({ where: { sid: id } })
        return row === null ? undefined : new Date(row.expires).getTime()
      },
      async sweep() {
        await store.clearExpiredSessions()
      },
      async close() {
        store.stopExpiringSessions()
        await db.close()
      },
    }
  },
}

let server: TestServer | undefined
let backend: Backend | undefined
afterEach(async () => {
  vi.useRealTimers()
  await server?.close()
  await backend?.close()
  server = undefined
  backend = undefined
})

describe.each(Object.keys(backends))('%s', (name) => {
  async function start() {
    backend = await backends[name]!()
    const app = express()
    app.use(
      session({
        schema,
        secret: SECRET,
        store: backend.store as never,
        cookie: { maxAge: WEEK },
      }),
    )
    app.get('/login', (req: Request, res: Response) => {
      req.session.user = 'alice'
      res.json({ id: req.sessionID })
    })
    app.get('/whoami', (req: Request, res: Response) => {
      res.json({ user: req.session.user ?? null })
    })
    server = await listen(app)
    return { backend, client: new CookieClient(server.url) }
  }

  it('keeps a 7-day session for 7 days, and not longer', async () => {
    const { backend, client } = await start()
    // Only the clock is faked: sockets and the stores' own I/O run as usual.
    vi.useFakeTimers({ toFake: ['Date'] })
    const loggedInAt = Date.now()
    await client.get('/login')
    const id = idOfCookie(client.cookies.get('sid'))!
    const expiry = await backend.expiryOf(id)
    expect(expiry).toBeGreaterThanOrEqual(loggedInAt + WEEK - 1_000)
    expect(expiry).toBeLessThanOrEqual(Date.now() + WEEK + 1_000)

    // Six days later the login still holds (the one-day fallback had dropped it after a day).
    vi.setSystemTime(loggedInAt + 6 * DAY)
    await backend.sweep()
    expect(JSON.parse((await client.get('/whoami')).body)).toEqual({ user: 'alice' })

    // Past the week it is over, in the store too.
    vi.setSystemTime(loggedInAt + WEEK + DAY)
    await backend.sweep()
    const late = new CookieClient(server!.url)
    late.cookies.set('sid', client.cookies.get('sid')!)
    expect(JSON.parse((await late.get('/whoami')).body)).toEqual({ user: null })
  })
})

describe('the cookie an express-session store is handed', () => {
  it("reads and serialises as express-session's Cookie", async () => {
    const seen: Array<{ cookie: Record<string, unknown> }> = []
    const records = new Map<string, string>()
    // A callback store as written for express-session, keeping what it was given.
    const store = {
      get: (id: string, cb: (err: unknown, value?: unknown) => void) =>
        cb(null, records.has(id) ? JSON.parse(records.get(id)!) : null),
      set: (id: string, sess: { cookie: Record<string, unknown> }, cb: (err?: unknown) => void) => {
        seen.push(sess)
        records.set(id, JSON.stringify(sess))
        cb()
      },
      destroy: (id: string, cb: (err?: unknown) => void) => {
        records.delete(id)
        cb()
      },
    }
    const app = express()
    app.use(session({ schema, secret: SECRET, store, cookie: { maxAge: WEEK } }))
    app.get('/login', (req: Request, res: Response) => {
      req.session.user = 'alice'
      res.json({ ok: true })
    })
    server = await listen(app)
    await new CookieClient(server.url).get('/login')
    const cookie = seen[0]!.cookie
    expect(cookie.expires).toBeInstanceOf(Date)
    expect(cookie.originalMaxAge).toBe(WEEK)
    expect(cookie.maxAge).toBeGreaterThan(WEEK - 60_000)
    expect(cookie.maxAge).toBeLessThanOrEqual(WEEK)
    // The same JSON as express-session's own Cookie with these settings and expiry.
    const { default: ExpressSessionCookie } = (await import(
      'express-session/session/cookie.js' as string
    )) as { default: new (options: object) => { expires: Date } }
    const reference = new ExpressSessionCookie({
      maxAge: WEEK,
      httpOnly: true,
      path: '/',
      sameSite: 'lax',
    })
    reference.expires = cookie.expires as Date
    ;(reference as unknown as { originalMaxAge: number }).originalMaxAge = WEEK
    expect(JSON.parse(JSON.stringify(cookie))).toEqual(JSON.parse(JSON.stringify(reference)))
  })
})
