import { EventEmitter } from 'node:events'
import type { AddressInfo } from 'node:net'
import express from 'express'
import expressSession from 'express-session'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MemoryStore } from '../../src/stores/memory.js'
import { Store } from '../../src/stores/store.js'
import type { SessionRecord, StoredCookie } from '../../src/stores/types.js'

const MINUTE_MS = 60_000

function cookie(
  expiresInMs: number | null,
  originalMaxAge: number | null = MINUTE_MS,
): StoredCookie {
  return {
    originalMaxAge,
    expires: expiresInMs === null ? null : new Date(Date.now() + expiresInMs).toISOString(),
    httpOnly: true,
    path: '/',
    sameSite: 'lax',
  }
}

function record(
  data: Record<string, unknown>,
  expiresInMs: number | null = MINUTE_MS,
): SessionRecord {
  return { ...data, cookie: cookie(expiresInMs) }
}

async function read(store: MemoryStore, id: string): Promise<unknown> {
  const json = await store.get(id)
  return json === undefined ? undefined : JSON.parse(json)
}

describe('MemoryStore', () => {
  const stores: MemoryStore[] = []
  function create(options?: ConstructorParameters<typeof MemoryStore>[0]): MemoryStore {
    const store = new MemoryStore(options)
    stores.push(store)
    return store
  }
  afterEach(() => {
    for (const s of stores.splice(0)) s.close()
    vi.useRealTimers()
  })

  describe('options', () => {
    it('rejects a max that is not a positive integer and a negative check period', () => {
      for (const options of [
        { max: 0 },
        { max: 1.5 },
        { max: -1 },
        { checkPeriodMs: -1 },
        { checkPeriodMs: Number.NaN },
      ]) {
        expect(() => new MemoryStore(options)).toThrow(
          expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }),
        )
      }
    })
  })

  describe('values', () => {
    it('returns the record as a JSON string equal to what was set', async () => {
      const store = create()
      const r = record({ userId: 'u', cart: [{ sku: 'a', qty: 2 }], none: null })
      await store.set('id', r)
      const json = await store.get('id')
      expect(typeof json).toBe('string')
      expect(JSON.parse(json!)).toEqual(r)
    })

    it('accepts expires as a Date and keeps a browser-session cookie (expires null)', async () => {
      const store = create()
      const expires = new Date(Date.now() + MINUTE_MS)
      await store.set('date', { a: 1, cookie: { originalMaxAge: MINUTE_MS, expires } })
      expect(await read(store, 'date')).toEqual({
        a: 1,
        cookie: { originalMaxAge: MINUTE_MS, expires: expires.toISOString() },
      })
      await store.set('none', record({ b: 2 }, null))
      expect(await read(store, 'none')).toEqual(record({ b: 2 }, null))
    })

    it('stores copies: changing the set record or a loaded one never changes the store', async () => {
      const store = create()
      const r = record({ list: [1] })
      await store.set('id', r)
      ;(r.list as number[]).push(2)
      const loaded = (await read(store, 'id')) as { list: number[] }
      loaded.list.push(3)
      expect(await read(store, 'id')).toMatchObject({ list: [1] })
    })

    it('keeps sessions with many distinct cookie shapes apart (beyond the shared shape table)', async () => {
      const store = create({ max: 5000 })
      for (let i = 0; i < 1100; i++) {
        await store.set(`s${i}`, { n: i, cookie: cookie(MINUTE_MS, 1000 + i) })
      }
      for (const i of [0, 1, 1023, 1024, 1099]) {
        const found = (await read(store, `s${i}`)) as SessionRecord
        expect(found.n).toBe(i)
        expect(found.cookie.originalMaxAge).toBe(1000 + i)
      }
    })

    it('rejects data that is not JSON and keeps the previous record', async () => {
      const store = create()
      await store.set('id', record({ a: 1 }))
      await expect(store.set('id', record({ big: 1n }))).rejects.toThrow(TypeError)
      expect(await read(store, 'id')).toMatchObject({ a: 1 })
    })

    it('keeps a `__proto__` data key as data (no prototype pollution)', async () => {
      const store = create()
      const data = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>
      await store.set('id', { ...data, cookie: cookie(MINUTE_MS) })
      const found = (await read(store, 'id')) as Record<string, unknown>
      expect(Object.hasOwn(found, '__proto__')).toBe(true)
      expect(Object.getPrototypeOf(found)).toBe(Object.prototype)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })
  })

  describe('bounds', () => {
    it('never holds more than max sessions: 10,000 one-shot visitors leave 1,000', async () => {
      const store = create({ max: 1000 })
      for (let i = 0; i < 10_000; i++) await store.set(`visitor${i}`, record({ i }))
      expect(store.size).toBe(1000)
      expect(await store.get('visitor8999')).toBeUndefined()
      expect(await read(store, 'visitor9000')).toMatchObject({ i: 9000 })
      expect(await read(store, 'visitor9999')).toMatchObject({ i: 9999 })
    })

    it('evicts the least recently used session: a read or touch counts as use', async () => {
      const store = create({ max: 3 })
      await store.set('a', record({ n: 'a' }))
      await store.set('b', record({ n: 'b' }))
      await store.set('c', record({ n: 'c' }))
      await store.get('a') // a is now the most recent
      await store.set('d', record({ n: 'd' })) // evicts b
      expect(await store.get('b')).toBeUndefined()
      await store.touch('c', record({}))
      await store.set('e', record({ n: 'e' })) // evicts a (c was touched)
      expect(await store.get('a')).toBeUndefined()
      expect(await read(store, 'c')).toMatchObject({ n: 'c' })
      expect(store.size).toBe(3)
    })
  })

  describe('expiry', () => {
    it('never returns an expired session, even before the sweeper ran', async () => {
      vi.useFakeTimers()
      const store = create({ checkPeriodMs: 0 })
      await store.set('id', record({ a: 1 }, MINUTE_MS))
      vi.advanceTimersByTime(MINUTE_MS - 1)
      expect(await read(store, 'id')).toMatchObject({ a: 1 })
      vi.advanceTimersByTime(1)
      expect(await store.get('id')).toBeUndefined()
      expect(store.size).toBe(0)
    })

    it('does not store a record that is already expired, and deletes the previous one', async () => {
      const store = create()
      await store.set('id', record({ a: 1 }))
      await store.set('id', record({ a: 2 }, -1))
      expect(store.size).toBe(0)
      expect(await store.get('id')).toBeUndefined()
    })

    it('sweeps expired sessions in the background without reads', async () => {
      vi.useFakeTimers()
      const store = create({ checkPeriodMs: 10_000, max: 100_000 })
      for (let i = 0; i < 1000; i++) await store.set(`short${i}`, record({ i }, 5_000))
      await store.set('long', record({ keep: true }, 10 * MINUTE_MS))
      expect(store.size).toBe(1001)
      vi.advanceTimersByTime(9_999)
      expect(store.size).toBe(1001)
      vi.advanceTimersByTime(1)
      expect(store.size).toBe(1)
      expect(await read(store, 'long')).toMatchObject({ keep: true })
    })

    it("runs its sweeper on an unref()'d timer and stops it on close and on dispose", () => {
      const spy = vi.spyOn(globalThis, 'setInterval')
      const store = new MemoryStore({ checkPeriodMs: 1000 })
      const timer = spy.mock.results[0]?.value as NodeJS.Timeout
      spy.mockRestore()
      expect(timer.hasRef()).toBe(false)
      const clear = vi.spyOn(globalThis, 'clearInterval')
      store[Symbol.dispose]()
      expect(clear).toHaveBeenCalledWith(timer)
      clear.mockRestore()
    })

    it('leaves no timer behind after close', () => {
      vi.useFakeTimers()
      const store = new MemoryStore()
      expect(vi.getTimerCount()).toBe(1)
      store.close()
      expect(vi.getTimerCount()).toBe(0)
      expect(() => new MemoryStore({ checkPeriodMs: 0 })).not.toThrow()
      expect(vi.getTimerCount()).toBe(0)
    })
  })

  describe('touch', () => {
    it('replaces the cookie and keeps the data', async () => {
      const store = create()
      await store.set('id', record({ a: 1 }, MINUTE_MS))
      const later = cookie(10 * MINUTE_MS, 10 * MINUTE_MS)
      await store.touch('id', { other: 'ignored', cookie: later })
      expect(await read(store, 'id')).toEqual({ a: 1, cookie: later })
    })

    it('does not create a missing session', async () => {
      const store = create()
      await store.touch('missing', record({ a: 1 }))
      expect(store.size).toBe(0)
    })
  })

  describe('patch', () => {
    it('applies set / unset / cookie on top of the stored record', async () => {
      const store = create()
      await store.set('id', record({ a: 1, b: 2, c: 3 }))
      const next = cookie(5 * MINUTE_MS)
      await expect(
        store.patch('id', { set: { a: 10, d: 4 }, unset: ['b'], cookie: next }),
      ).resolves.toBe(true)
      expect(await read(store, 'id')).toEqual({ a: 10, c: 3, d: 4, cookie: next })
    })

    it('does not lose a write made between a load and a patch (different keys)', async () => {
      const store = create()
      await store.set('id', record({ cart: [] }))
      // Request A loaded the session, then request B wrote `userId`; A only changed `cart`.
      await store.patch('id', { set: { userId: 'u1' }, unset: [], cookie: cookie(MINUTE_MS) })
      await store.patch('id', { set: { cart: ['x'] }, unset: [], cookie: cookie(MINUTE_MS) })
      expect(await read(store, 'id')).toMatchObject({ cart: ['x'], userId: 'u1' })
    })

    it('resolves false and writes nothing for a missing, destroyed or expired session', async () => {
      vi.useFakeTimers()
      const store = create({ checkPeriodMs: 0 })
      const p = { set: { x: 1 }, unset: [], cookie: cookie(MINUTE_MS) }
      await expect(store.patch('missing', p)).resolves.toBe(false)
      await store.set('gone', record({ userId: 'u' }))
      await store.destroy('gone')
      await expect(store.patch('gone', p)).resolves.toBe(false)
      await store.set('old', record({ userId: 'u' }, 1000))
      vi.advanceTimersByTime(1000)
      await expect(store.patch('old', p)).resolves.toBe(false)
      expect(store.size).toBe(0)
    })
  })

  describe('replaceSync', () => {
    it('replaces the data only while it is exactly what the caller read', async () => {
      const store = create()
      await store.set('id', record({ a: 1, b: 2 }))
      const next = cookie(5 * MINUTE_MS)
      expect(store.replaceSync('id', '{"a":1,"b":2}', '{"a":10}', next)).toBe(true)
      expect(await read(store, 'id')).toEqual({ a: 10, cookie: next })
      // Another writer changed it since: nothing is written, the caller patches instead.
      expect(store.replaceSync('id', '{"a":1,"b":2}', '{"a":99}', next)).toBe(false)
      expect(await read(store, 'id')).toEqual({ a: 10, cookie: next })
    })

    it('never brings back a destroyed session, nor takes over a record with flash messages', async () => {
      const store = create()
      expect(store.replaceSync('missing', '{}', '{"a":1}', cookie(MINUTE_MS))).toBe(false)
      await store.set('gone', record({ a: 1 }))
      await store.destroy('gone')
      expect(store.replaceSync('gone', '{"a":1}', '{"a":2}', cookie(MINUTE_MS))).toBe(false)
      expect(store.size).toBe(0)
      await store.set('flash', record({ a: 1, flash: { info: ['hi'] } }))
      expect(store.replaceSync('flash', '{"a":1}', '{"a":2}', cookie(MINUTE_MS))).toBe(false)
      expect(await read(store, 'flash')).toMatchObject({ a: 1, flash: { info: ['hi'] } })
    })
  })

  describe('getPartsSync', () => {
    it('answers what get answers, taken apart: the data JSON and the cookie with a Date', async () => {
      const store = create()
      const stored = record({ a: 1, flash: { info: ['hi'] } })
      await store.set('id', stored)
      const parts = store.getPartsSync('id')!
      expect(JSON.parse(parts.data)).toEqual({ a: 1, flash: { info: ['hi'] } })
      expect(parts.cookie.expires).toBeInstanceOf(Date)
      expect({ ...parts.cookie, expires: (parts.cookie.expires as Date).toISOString() }).toEqual(
        ((await read(store, 'id')) as SessionRecord).cookie,
      )
      // Each call hands out its own cookie: changing one changes neither the store nor the next.
      parts.cookie.path = '/changed'
      expect(store.getPartsSync('id')!.cookie.path).toBe('/')
    })

    it('answers a cookie of another shape too, and nothing for a missing or expired record', async () => {
      const store = create()
      await store.set('odd', { a: 2, cookie: { ...cookie(null, null), domain: 'example.com' } })
      expect(store.getPartsSync('odd')!.cookie).toMatchObject({
        expires: null,
        domain: 'example.com',
      })
      expect(store.getPartsSync('missing')).toBeUndefined()
      await store.set('old', record({ a: 1 }, -1))
      expect(store.getPartsSync('old')).toBeUndefined()
    })
  })

  describe('express-session callback API', () => {
    it('is an EventEmitter and an instance of Store', () => {
      const store = create()
      expect(store).toBeInstanceOf(Store)
      expect(store).toBeInstanceOf(EventEmitter)
    })

    it('answers get/set/touch/all/length/destroy/clear through callbacks, never synchronously', async () => {
      const store = create()
      const call = <T>(
        fn: (cb: (err: unknown, value?: T) => void) => void,
      ): Promise<T | undefined> =>
        new Promise((resolve, reject) => {
          let sync = true
          fn((err, value) => {
            if (sync) reject(new Error('callback called synchronously'))
            else if (err) reject(err)
            else resolve(value)
          })
          sync = false
        })
      const r = record({ views: 1 })
      await call((cb) => store.set('a', r, cb))
      await call((cb) => store.set('b', record({ views: 2 }), cb))
      expect(await call((cb) => store.get('a', cb))).toEqual(r)
      expect(await call((cb) => store.get('missing', cb))).toBeUndefined()
      await call((cb) => store.touch('a', record({}, 2 * MINUTE_MS), cb))
      expect(await call((cb) => store.length(cb))).toBe(2)
      const all = (await call((cb) => store.all(cb))) as Record<string, SessionRecord>
      expect(Object.keys(all).sort()).toEqual(['a', 'b'])
      expect(all.b).toMatchObject({ views: 2 })
      await call((cb) => store.destroy('a', cb))
      expect(await call((cb) => store.length(cb))).toBe(1)
      await call((cb) => store.clear(cb))
      expect(await store.length()).toBe(0)
    })

    it('works as the store of express-session itself', async () => {
      const store = create()
      const app = express()
      app.use(
        expressSession({
          secret: 'memory-store-test-secret',
          resave: false,
          saveUninitialized: false,
          // Runtime-compatible; its callback types are ours, not @types/express-session's.
          store: store as unknown as expressSession.Store,
        }),
      )
      app.get('/', (req, res) => {
        const s = req.session as typeof req.session & { views?: number }
        s.views = (s.views ?? 0) + 1
        res.json({ views: s.views })
      })
      const server = app.listen(0, '127.0.0.1')
      await new Promise((r) => server.once('listening', r))
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
        const first = await fetch(url)
        const sid = first.headers.get('set-cookie')!.split(';')[0]!
        expect(await first.json()).toEqual({ views: 1 })
        const second = await fetch(url, { headers: { cookie: sid } })
        expect(await second.json()).toEqual({ views: 2 })
        expect(store.size).toBe(1)
        // express-session hands over a `Cookie` instance: stored as its JSON, no private fields.
        const id = decodeURIComponent(sid.split('=')[1]!).slice(2).split('.')[0]!
        const stored = JSON.parse((await store.get(id))!) as SessionRecord
        expect(stored).toEqual({
          views: 2,
          cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' },
        })
      } finally {
        server.closeAllConnections()
        await new Promise((r) => server.close(r))
      }
    })
  })
})
