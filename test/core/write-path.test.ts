import express from 'express'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { MemoryStore, session } from '../../src/index.js'
import { CookieClient, listen, type TestServer } from '../helpers/http.js'

// Issue 15, the write path on the in-process store: a loaded session keeps the key order of its
// stored record, so that one request writing the session it read hands the store the JSON it
// already made (`replaceSync`) instead of a per-key diff; what another writer changed meanwhile
// still goes through the patch and is kept.

const schema = z.object({
  userId: z.string().optional(),
  views: z.number().default(0),
  cart: z.array(z.string()).default([]),
})
const SECRET = 'write-path-secret-0123456789abcdefghijkl'

let server: TestServer | undefined
afterEach(async () => {
  vi.restoreAllMocks()
  await server?.close()
  server = undefined
})

/** What the store held for the session right after each `/write` returned from `res.json`. */
let storedAtEnd: (number | undefined)[] = []

async function start(store: MemoryStore): Promise<CookieClient> {
  storedAtEnd = []
  const app = express()
  app.use(session({ schema, secret: SECRET, store }))
  app.get('/login', (req, res) => {
    // An optional key set after the defaults: last in the record, first in the schema.
    ;(req.session as unknown as { userId: string }).userId = 'u1'
    res.json(Object.keys(req.session))
  })
  app.get('/write', (req, res) => {
    const s = req.session as unknown as { views: number }
    s.views++
    res.json(Object.keys(req.session))
    // The README's promise: on the MemoryStore the write is done when `res.end` returns.
    const stored = store.getSync((req as unknown as { sessionID: string }).sessionID)
    storedAtEnd.push(
      stored === undefined ? undefined : (JSON.parse(stored) as { views: number }).views,
    )
  })
  server = await listen(app)
  return new CookieClient(server.url)
}

describe('writing the session a request read, on the MemoryStore', () => {
  it('keeps the stored key order on load and writes the record whole', async () => {
    const store = new MemoryStore()
    const replace = vi.spyOn(MemoryStore.prototype, 'replaceSync')
    const patch = vi.spyOn(MemoryStore.prototype, 'patchSync')
    const client = await start(store)
    expect(JSON.parse((await client.get('/login')).body)).toEqual(['views', 'cart', 'userId'])
    expect(JSON.parse((await client.get('/write')).body)).toEqual(['views', 'cart', 'userId'])
    expect(JSON.parse((await client.get('/write')).body)).toEqual(['views', 'cart', 'userId'])
    expect(replace.mock.results.map((result) => result.value)).toEqual([true, true])
    expect(storedAtEnd).toEqual([1, 2])
    expect(patch).not.toHaveBeenCalled()
    const [id] = Object.keys(await store.all())
    expect(JSON.parse((await store.get(id!))!)).toMatchObject({
      userId: 'u1',
      views: 2,
    })
  })

  it('patches instead when another writer changed the record since the load', async () => {
    const store = new MemoryStore()
    const client = await start(store)
    await client.get('/login')
    const [id] = Object.keys(await store.all())
    // Another process's write, as the store sees it: the request below loaded the older data.
    const app = express()
    app.use(session({ schema, secret: SECRET, store }))
    app.get('/slow', async (req, res) => {
      const s = req.session as unknown as { views: number }
      s.views++
      await store.patch(id!, {
        set: { cart: ['from elsewhere'] },
        unset: [],
        cookie: (JSON.parse((await store.get(id!))!) as { cookie: never }).cookie,
      })
      res.json({})
    })
    const other = await listen(app)
    try {
      await fetch(`${other.url}/slow`, { headers: { cookie: client.cookieHeader() } })
    } finally {
      await other.close()
    }
    expect(JSON.parse((await store.get(id!))!)).toMatchObject({
      userId: 'u1',
      views: 1,
      cart: ['from elsewhere'],
    })
  })
})
