import { createServer, IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import express4 from 'express4'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { registryFor } from '../../src/core/registry.js'
import { MemoryStore, session } from '../../src/index.js'
import { CookieClient, listen, type TestServer } from '../helpers/http.js'

// Under Express the session reaches `req.sessionID`, `req.sessionStore`, `req.flash` and the
// response hooks through Express's shared prototypes, adding no own property but `req.session`
// (issue 15: each own property on an Express request costs a hidden class per request). These
// tests hold the behaviour a user sees to what own properties gave, and the limits of the trick.

const schema = z.object({ views: z.number().default(0) })
const SECRET = 'shared-hooks-secret-0123456789abcdefghij'

let servers: TestServer[] = []
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()))
  servers = []
})

async function start(app: express.Express | ReturnType<typeof express4>): Promise<CookieClient> {
  const server = await listen(app)
  servers.push(server)
  return new CookieClient(server.url)
}

type AnyRequest = IncomingMessage & Record<string, unknown>

const frameworks = { express5: express, express4 } as const

describe.each(Object.keys(frameworks) as (keyof typeof frameworks)[])('on %s', (name) => {
  const makeApp = frameworks[name] as unknown as () => express.Express

  it('adds no own property but req.session to req, none to res, and the members still read right', async () => {
    const store = new MemoryStore()
    const app = makeApp()
    const ownBefore = new WeakMap<object, string[]>()
    app.use((req, res, next) => {
      ownBefore.set(req, Object.getOwnPropertyNames(req))
      ownBefore.set(res, Object.getOwnPropertyNames(res))
      next()
    })
    app.use(session({ schema, secret: SECRET, store, flash: { info: z.string() } }))
    const added = (object: object) =>
      Object.getOwnPropertyNames(object).filter((key) => !ownBefore.get(object)!.includes(key))
    // Measured right after the session: the router adds `req.route` later, for the route.
    app.use((req, res, next) => {
      res.locals.added = { req: added(req), res: added(res) }
      next()
    })
    app.get('/', (req, res) => {
      const r = req as unknown as AnyRequest & { session: { id: string; views: number } }
      r.session.views++
      res.json({
        ...res.locals.added,
        sessionID: r.sessionID === r.session.id,
        store: r.sessionStore === store,
        flash: typeof r.flash,
        views: r.session.views,
      })
    })
    const client = await start(app)
    const first = JSON.parse((await client.get('/')).body)
    expect(first.req).toEqual(['session'])
    expect(first.res).toEqual([])
    expect(first).toMatchObject({ sessionID: true, store: true, flash: 'function', views: 1 })
    expect(JSON.parse((await client.get('/')).body)).toMatchObject({ sessionID: true, views: 2 })
  })

  it('commits through an end wrapper mounted before the session, and one mounted after', async () => {
    const app = makeApp()
    const order: string[] = []
    const wrapEnd =
      (label: string): express.RequestHandler =>
      (_req, res, next) => {
        const end = res.end
        res.end = function (this: ServerResponse, ...args: unknown[]) {
          order.push(label)
          return Reflect.apply(end, this, args)
        } as typeof res.end
        next()
      }
    app.use(wrapEnd('before'))
    app.use(session({ schema, secret: SECRET, store: new MemoryStore() }))
    app.use(wrapEnd('after'))
    app.get('/', (req, res) => {
      const s = (req as unknown as { session: { views: number } }).session
      s.views++
      res.send(String(s.views))
    })
    const client = await start(app)
    expect((await client.get('/')).body).toBe('1')
    expect((await client.get('/')).body).toBe('2')
    expect(order).toEqual(['after', 'before', 'after', 'before'])
  })

  it('keeps assignments: a later req.flash (connect-flash) and a handler’s own req.sessionID', async () => {
    const app = makeApp()
    app.use(session({ schema, secret: SECRET, store: new MemoryStore() }))
    app.use((req, _res, next) => {
      ;(req as unknown as AnyRequest).flash = () => 'connect-flash'
      next()
    })
    app.get('/', (req, res) => {
      const r = req as unknown as AnyRequest & { flash: () => string }
      const before = r.sessionID
      r.sessionID = 'mine'
      res.json({ flash: r.flash(), before: typeof before, after: r.sessionID })
    })
    const client = await start(app)
    expect(JSON.parse((await client.get('/')).body)).toEqual({
      flash: 'connect-flash',
      before: 'string',
      after: 'mine',
    })
  })

  it('works in a mounted sub-app, and req.sessionID reads the same after leaving it', async () => {
    const app = makeApp()
    const sub = makeApp()
    sub.use(session({ schema, secret: SECRET, store: new MemoryStore() }))
    sub.get('/count', (req, _res, next) => {
      ;(req as unknown as { session: { views: number } }).session.views++
      next()
    })
    app.use('/sub', sub)
    app.use((req, res) => {
      const r = req as unknown as AnyRequest & { session: { id: string; views: number } }
      res.json({ views: r.session.views, same: r.sessionID === r.session.id })
    })
    const client = await start(app)
    expect(JSON.parse((await client.get('/sub/count')).body)).toEqual({ views: 1, same: true })
    expect(JSON.parse((await client.get('/sub/count')).body)).toEqual({ views: 2, same: true })
  })

  it('leaves the registry when the client goes away while the store is still loading', async () => {
    const inner = new MemoryStore()
    let answer: (() => void) | undefined
    let held = false
    // Only a load of an existing session waits: the first request creates it.
    const store = {
      get: (id: string, cb: (err: unknown, value?: unknown) => void) => {
        if (!held) return inner.get(id, cb)
        answer = () => inner.get(id, cb)
      },
      set: inner.set.bind(inner),
      destroy: inner.destroy.bind(inner),
    }
    const app = makeApp()
    app.use(session({ schema, secret: SECRET, store }))
    app.get('/', (req, res) => {
      ;(req as unknown as { session: { views: number } }).session.views++
      res.send('ok')
    })
    const client = await start(app)
    await client.get('/')
    held = true
    const aborted = new AbortController()
    const pending = client.request('/', { signal: aborted.signal }).catch(() => 'aborted')
    const registry = registryFor(store)
    await until(() => answer !== undefined && registry.size === 1)
    aborted.abort()
    expect(await pending).toBe('aborted')
    await until(() => registry.size === 0)
    answer!()
  })
})

describe('outside Express', () => {
  it('leaves node’s own prototypes alone: a plain server in the same process sees no session member', async () => {
    // An Express app has served a session request in this process (the tests above).
    const app = express()
    app.use(session({ schema, secret: SECRET, store: new MemoryStore() }))
    app.get('/', (_req, res) => res.send('ok'))
    const client = await start(app)
    await client.get('/')
    for (const key of ['session', 'sessionID', 'sessionStore', 'flash'])
      expect(Object.hasOwn(IncomingMessage.prototype, key)).toBe(false)
    const plain = createServer((req, res) => {
      res.end(JSON.stringify(['sessionID', 'sessionStore', 'flash'].filter((key) => key in req)))
    })
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = plain.address() as AddressInfo
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).json()).toEqual([])
    } finally {
      await new Promise((resolve) => plain.close(resolve))
    }
  })
})

/** Wait for `condition`, polling each turn of the event loop; bounded. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (condition()) return
    await new Promise((resolve) => setImmediate(resolve))
  }
  throw new Error('condition not reached')
}
