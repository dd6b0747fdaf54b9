import express from 'express'
import expressSession from 'express-session'
import * as v from 'valibot'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { MemoryStore, type SessionEvent, session } from '../../src/index.js'
import { idOfCookie } from '../flash/support.js'
import { FRAMEWORKS, type Framework, type Handler, json, serve } from '../helpers/apps.js'
import { CookieClient, listen, parseSetCookie, type TestServer } from '../helpers/http.js'
import { spyStore } from '../helpers/spy-store.js'

const SECRET = 'a-test-secret-that-is-32-chars-long!'
const OLD_SECRET = 'an-old-secret-that-is-32-chars-long!'
const schema = z.object({ views: z.number().int().default(0), name: z.string().optional() })

const servers: TestServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
  vi.unstubAllEnvs()
})

const routes: Record<string, Handler> = {
  'GET /count': (req, res) => {
    ;(req.session.views as number)++
    json(res, { views: req.session.views, id: req.sessionID })
  },
  'GET /read': (req, res) => json(res, { views: req.session.views, id: req.session.id }),
}

/** The framework the current `describe.each` round runs on. */
let framework: Framework = 'express5'

async function start(
  options: Partial<Parameters<typeof session>[0]> & object,
  extra: Record<string, Handler> = {},
) {
  const server = await serve(framework, session({ schema, secret: SECRET, ...options } as never), {
    ...routes,
    ...extra,
  })
  servers.push(server)
  return new CookieClient(server.url)
}

describe.each(FRAMEWORKS)('%s', (each) => {
  beforeEach(() => {
    framework = each
  })

  describe('secret', () => {
    it('accepts a cookie signed with an older secret and re-signs it with the first', async () => {
      const store = new MemoryStore()
      const old = await start({ secret: OLD_SECRET, store })
      await old.get('/count')
      const rotated = await start({ secret: [SECRET, OLD_SECRET], store })
      const response = await rotated.request('/read', { rawCookie: old.cookieHeader() })
      expect(JSON.parse(response.body).views).toBe(1)
      expect(response.setCookies).toHaveLength(1)
      const onlyNew = await start({ secret: SECRET, store })
      const reread = await onlyNew.request('/read', {
        rawCookie: `sid=${rotated.cookies.get('sid')}`,
      })
      expect(JSON.parse(reread.body).views).toBe(1)
      // A cookie signed with a secret that was removed from the list is refused.
      const refused = await onlyNew.request('/read', { rawCookie: old.cookieHeader() })
      expect(JSON.parse(refused.body).views).toBe(0)
    })

    it('is required, and long in production', () => {
      expect(() => session({ schema } as never)).toThrow(/secret is required/)
      expect(() => session({ schema, secret: [] })).toThrow(/secret is required/)
      vi.stubEnv('NODE_ENV', 'production')
      expect(() => session({ schema, secret: 'short', store: new MemoryStore() })).toThrow(
        /at least 32/,
      )
      expect(() => session({ schema, secret: 'keyboard cat', store: new MemoryStore() })).toThrow(
        /32|placeholder/,
      )
    })

    it('says which secret is missing, as when an environment variable is not set', () => {
      const unset = process.env.TYPED_SESSION_TEST_UNSET_SECRET
      expect(() => session({ schema, secret: unset as unknown as string })).toThrow(
        'typed-session: a secret is required (a string or Buffer, or a list: the first signs); got undefined (an environment variable that is not set?)',
      )
      expect(() => session({ schema, secret: [SECRET, unset as unknown as string] })).toThrow(
        'typed-session: secret[1] is undefined: every secret must be a non-empty string or Buffer (an environment variable that is not set?)',
      )
      expect(() => session({ schema, secret: [''] })).toThrow(/secret\[0\] is an empty string/)
    })

    it('warns once when the memory store is used in production, and not when allowed', async () => {
      vi.stubEnv('NODE_ENV', 'production')
      const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
      const memoryWarnings = () =>
        warn.mock.calls.filter(([message]) => String(message).includes('MemoryStore')).length
      // A fresh copy of the module: the warning is once per process, and earlier tests may have
      // used up this copy's.
      vi.resetModules()
      const fresh = await import('../../src/index.js')
      fresh.session({ schema, secret: SECRET, allowMemoryStoreInProduction: true })
      expect(memoryWarnings()).toBe(0)
      fresh.session({ schema, secret: SECRET })
      fresh.session({ schema, secret: SECRET })
      expect(memoryWarnings()).toBe(1)
      warn.mockRestore()
    })

    it('refuses a store timeout that is not a positive number of milliseconds', () => {
      for (const storeTimeout of [0, -1, Number.NaN]) {
        expect(() => session({ schema, secret: SECRET, storeTimeout })).toThrow(/storeTimeout/)
      }
    })
  })

  describe('cookie', () => {
    it('uses name, domain, path, partitioned and priority, and filters requests by path', async () => {
      const client = await start(
        {
          name: 'app.sid',
          cookie: {
            domain: '127.0.0.1',
            path: '/app',
            partitioned: true,
            priority: 'high',
            secure: 'auto',
          },
        },
        {
          'GET /app/count': routes['GET /count']!,
          'GET /other': (req, res) => json(res, { has: req.session !== undefined }),
        },
      )
      const response = await client.get('/app/count')
      const cookie = parseSetCookie(response.setCookies[0]!)
      expect(cookie.name).toBe('app.sid')
      expect(cookie.attributes.get('domain')).toBe('127.0.0.1')
      expect(cookie.attributes.get('path')).toBe('/app')
      expect(cookie.attributes.has('partitioned')).toBe(true)
      expect(cookie.attributes.get('priority')).toBe('High')
      expect(JSON.parse((await client.get('/other')).body).has).toBe(false)
    })

    it('computes settings per request with the function form', async () => {
      const client = await start({
        cookie: (req) => ({ maxAge: req.headers['x-remember'] ? 3_600_000 : 60_000 }),
      })
      const short = await client.get('/count')
      const long = await new CookieClient(client.baseUrl).request('/count', {
        headers: { 'x-remember': '1' },
      })
      const expiry = (line: string) =>
        new Date(parseSetCookie(line).attributes.get('expires')!).getTime() - Date.now()
      expect(expiry(short.setCookies[0]!)).toBeLessThan(61_000)
      expect(expiry(long.setCookies[0]!)).toBeGreaterThan(3_500_000)
    })

    it('never sets (or saves) a Secure cookie on an insecure request', async () => {
      const store = spyStore()
      const client = await start({ store, cookie: { secure: true } })
      const response = await client.get('/count')
      expect(response.setCookies).toEqual([])
      expect(store.calls).not.toContain('set')
    })

    it('trusts X-Forwarded-Proto only with proxy: true, and resolves sameSite auto', async () => {
      const trusted = await start({ proxy: true, cookie: { sameSite: 'auto' } })
      const secure = await trusted.request('/count', { headers: { 'x-forwarded-proto': 'https' } })
      const attributes = parseSetCookie(secure.setCookies[0]!).attributes
      expect(attributes.has('secure')).toBe(true)
      expect(attributes.get('samesite')).toBe('None')
      const untrusted = await start({ cookie: { sameSite: 'auto' } })
      const plain = await untrusted.request('/count', { headers: { 'x-forwarded-proto': 'https' } })
      expect(parseSetCookie(plain.setCookies[0]!).attributes.has('secure')).toBe(false)
      expect(parseSetCookie(plain.setCookies[0]!).attributes.get('samesite')).toBe('Lax')
    })

    it('rejects settings that contradict each other at session()', () => {
      expect(() =>
        session({ schema, secret: SECRET, cookie: { maxAge: 1, expires: new Date() } }),
      ).toThrow(/not both/)
      expect(() => session({ schema, secret: SECRET, cookie: { maxAge: -1 } })).toThrow(/maxAge/)
      expect(() => session({ schema, secret: SECRET, name: 'a;b' })).toThrow(/cookie name/)
    })
  })

  describe('genid', () => {
    it('makes the ids, and a bad id fails the request instead of being used', async () => {
      let next = 'custom-id-0123456789abcdef'
      const client = await start({ genid: () => next })
      expect(JSON.parse((await client.get('/count')).body).id).toBe('custom-id-0123456789abcdef')
      next = 'bad'
      const bad = await new CookieClient(client.baseUrl).get('/count')
      expect(bad.status).toBe(500)
      expect(bad.body).toBe('ERR_SESSION_OPTIONS')
    })
  })

  describe('resave, rolling, saveUninitialized', () => {
    it('writes an unchanged session only with resave', async () => {
      const store = spyStore()
      const client = await start({ store, resave: true })
      await client.get('/count')
      store.calls.length = 0
      await client.get('/read')
      expect(store.calls).toEqual(['get', 'set'])
    })

    it('resave: true as in express-session: the store is rewritten with a later expiry, no Set-Cookie, no second write after save()', async () => {
      const store = spyStore()
      const client = await start(
        { store, resave: true, cookie: { maxAge: 60_000 } },
        {
          'GET /save-read': async (req, res) => {
            await req.session.save()
            json(res, { views: req.session.views })
          },
        },
      )
      await client.get('/count')
      const id = idOfCookie(client.cookies.get('sid'))!
      const storedExpiry = async () =>
        new Date(JSON.parse((await store.inner.get(id))!).cookie.expires).getTime()
      const first = await storedExpiry()
      store.calls.length = 0
      const read = await client.get('/read')
      expect(store.calls).toEqual(['get', 'set'])
      expect(read.setCookies).toEqual([])
      expect(await storedExpiry()).toBeGreaterThanOrEqual(first)
      store.calls.length = 0
      const saved = await client.get('/save-read')
      expect(store.calls).toEqual(['get', 'set'])
      expect(saved.setCookies).toEqual([])
    })

    it('does not touch the store for an unchanged session by default, and touches with rolling', async () => {
      const store = spyStore()
      const quiet = await start({ store, cookie: { maxAge: 60_000 } })
      await quiet.get('/count')
      store.calls.length = 0
      const read = await quiet.get('/read')
      expect(store.calls).toEqual(['get'])
      expect(read.setCookies).toEqual([])
      const rolling = await start({ store, rolling: true, cookie: { maxAge: 60_000 } })
      const rolled = await rolling.request('/read', { rawCookie: quiet.cookieHeader() })
      expect(store.calls).toEqual(['get', 'get', 'touch'])
      expect(rolled.setCookies).toHaveLength(1)
    })

    it('saves and sends a new unchanged session only with saveUninitialized', async () => {
      const store = spyStore()
      const client = await start({ store, saveUninitialized: true })
      const response = await client.get('/read')
      expect(response.setCookies).toHaveLength(1)
      expect(store.calls).toEqual(['set'])
    })
  })

  describe('unset', () => {
    const unsetRoutes: Record<string, Handler> = {
      'GET /unset': (req, res) => {
        req.session.views = 99
        ;(req as { session?: unknown }).session = undefined
        json(res, {})
      },
    }

    it("keeps the stored session as it was with 'keep' and destroys it with 'destroy'", async () => {
      const store = new MemoryStore()
      const keep = await start({ store, unset: 'keep' }, unsetRoutes)
      await keep.get('/count')
      await keep.get('/unset')
      expect(JSON.parse((await keep.get('/read')).body).views).toBe(1)
      const destroy = await start({ store, unset: 'destroy' }, unsetRoutes)
      const destroyed = await destroy.request('/unset', { rawCookie: keep.cookieHeader() })
      expect(destroyed.setCookies[0]).toMatch(/Expires=Thu, 01 Jan 1970/)
      expect(JSON.parse((await keep.get('/read')).body).views).toBe(0)
    })
  })

  describe('onInvalid', () => {
    async function planted(options: object) {
      const store = new MemoryStore()
      const events: SessionEvent[] = []
      const client = await start({
        store,
        onEvent: (event: SessionEvent) => events.push(event),
        ...options,
      })
      const { id } = JSON.parse((await client.get('/count')).body)
      await store.set(id, {
        views: 'lots',
        legacyName: 'Ann',
        cookie: { originalMaxAge: null, expires: null },
      })
      return { store, client, id, events }
    }

    it('gives a fresh session by default, destroys the bad record and reports the issues', async () => {
      const { store, client, id, events } = await planted({})
      const response = await client.get('/read')
      expect(JSON.parse(response.body).views).toBe(0)
      expect(JSON.parse(response.body).id).not.toBe(id)
      expect(await store.get(id)).toBeFalsy()
      const event = events.find((e) => e.type === 'invalid_data')
      expect(event && 'issues' in event && event.issues[0]?.path).toEqual(['views'])
    })

    it("passes ERR_SESSION_INVALID to next with 'error'", async () => {
      const { client } = await planted({ onInvalid: 'error' })
      const response = await client.get('/read')
      expect(response.status).toBe(500)
      expect(response.body).toBe('ERR_SESSION_INVALID')
    })

    it('migrates an old shape with a repair function, and saves the repaired data', async () => {
      const { store, client, id } = await planted({
        onInvalid: (record: Record<string, unknown>) => ({ views: 7, name: record.legacyName }),
      })
      const response = await client.get('/read')
      expect(JSON.parse(response.body)).toEqual({ views: 7, id })
      const stored = JSON.parse(JSON.stringify(await store.get(id)))
      const record = typeof stored === 'string' ? JSON.parse(stored) : stored
      expect(record).toMatchObject({ views: 7, name: 'Ann' })
      expect(record.legacyName).toBeUndefined()
    })
  })

  describe('schemas and stores', () => {
    it('works with a valibot schema', async () => {
      const server = await serve(
        'express5',
        session({ schema: v.object({ views: v.optional(v.number(), 0) }), secret: SECRET }),
        routes,
      )
      servers.push(server)
      const client = new CookieClient(server.url)
      await client.get('/count')
      expect(JSON.parse((await client.get('/count')).body).views).toBe(2)
    })

    it('never lets a stored __proto__ key reach a prototype, even through a pass-through schema', async () => {
      const store = new MemoryStore()
      // A schema that hands back whatever it is given, own `__proto__` key included (JSON.parse
      // makes one), as a careless custom Standard Schema would.
      const passThrough = {
        '~standard': {
          version: 1 as const,
          vendor: 'test',
          validate: (value: unknown) => ({
            value: JSON.parse(
              JSON.stringify({ views: 0, ...(value as object) }).replace(
                '"views"',
                '"__proto__":{"polluted":true},"views"',
              ),
            ),
          }),
        },
      }
      const server = await serve(
        'express5',
        session({ schema: passThrough, secret: SECRET, store } as never),
        {
          ...routes,
          'GET /proto': (req, res) =>
            json(res, {
              polluted: ({} as Record<string, unknown>).polluted ?? null,
              sessionPolluted: req.session.polluted ?? null,
              save: typeof req.session.save,
              own: Object.keys(req.session),
            }),
        },
      )
      servers.push(server)
      const client = new CookieClient(server.url)
      await client.get('/count')
      const response = JSON.parse((await client.get('/proto')).body)
      expect(response).toEqual({
        polluted: null,
        sessionPolluted: null,
        save: 'function',
        own: ['views'],
      })
    })

    it('shares sessions with express-session on the same store and secret, both ways', async () => {
      const store = new expressSession.MemoryStore()
      const legacy = express()
      legacy.use(expressSession({ secret: SECRET, store, resave: false, saveUninitialized: false }))
      legacy.get('/count', (req, res) => {
        const data = req.session as unknown as { views?: number }
        data.views = (data.views ?? 0) + 1
        res.json({ views: data.views })
      })
      const legacyServer = await listen(legacy)
      servers.push(legacyServer)
      const modern = await start({ store, name: 'connect.sid' })
      const browser = new CookieClient(legacyServer.url)
      await browser.get('/count')
      const switched = await modern.request('/count', { rawCookie: browser.cookieHeader() })
      expect(JSON.parse(switched.body).views).toBe(2)
      const back = await browser.get('/count')
      expect(JSON.parse(back.body).views).toBe(3)
    })
  })
})
