import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { MemoryStore, session } from '../../src/index.js'
import {
  FRAMEWORKS,
  type Framework,
  type Handler,
  json,
  type SessionRequest,
  serve,
} from '../helpers/apps.js'
import { CookieClient, parseSetCookie, type TestServer } from '../helpers/http.js'

const SECRET = 'a-test-secret-that-is-32-chars-long!'
const schema = z.object({ views: z.number().int().default(0), note: z.string().optional() })

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** Read what the store holds for `id`, whatever form the store keeps it in. */
async function stored(store: MemoryStore, id: string): Promise<Record<string, unknown> | null> {
  const value = await store.get(id)
  if (value === null || value === undefined) return null
  return typeof value === 'string' ? JSON.parse(value) : (value as Record<string, unknown>)
}

/** The framework the current `describe.each` round runs on. */
let framework: Framework = 'express5'

async function start(routes: Record<string, Handler>, options: object = {}) {
  const store = new MemoryStore()
  server = await serve(
    framework,
    session({ schema, secret: SECRET, store, cookie: { maxAge: 60_000 }, ...options }),
    {
      'GET /count': (req, res) => {
        ;(req.session.views as number)++
        json(res, { views: req.session.views, id: req.sessionID })
      },
      'GET /read': (req, res) =>
        json(res, { views: req.session.views, note: req.session.note ?? null, id: req.sessionID }),
      ...routes,
    },
  )
  return { store, client: new CookieClient(server.url) }
}

describe.each(FRAMEWORKS)('%s', (each) => {
  beforeEach(() => {
    framework = each
  })

  describe('req.session members', () => {
    it('exposes id, sessionID and sessionStore', async () => {
      const { store, client } = await start({
        'GET /ids': (req, res) =>
          json(res, { same: req.session.id === req.sessionID, store: req.sessionStore === store }),
      })
      expect(JSON.parse((await client.get('/ids')).body)).toEqual({ same: true, store: true })
    })

    it('save() writes at once, with a promise or a callback', async () => {
      let seenInStore: unknown
      const { store, client } = await start({
        'GET /save': async (req, res) => {
          req.session.note = 'promise'
          await req.session.save()
          seenInStore = (await stored(store, req.sessionID))?.note
          ;(req.session.save as unknown as (cb: (err?: unknown) => void) => unknown)((err) => {
            json(res, { err: err ?? null })
          })
        },
      })
      expect(JSON.parse((await client.get('/save')).body)).toEqual({ err: null })
      expect(seenInStore).toBe('promise')
    })

    it('reload() replaces the data with what the store holds', async () => {
      const { store, client } = await start({
        'GET /reload': async (req, res) => {
          req.session.views = 42
          const record = (await stored(store, req.sessionID))!
          await store.set(req.sessionID, { ...record, note: 'from store' } as never)
          await req.session.reload()
          json(res, { views: req.session.views, note: req.session.note })
        },
      })
      await client.get('/count')
      expect(JSON.parse((await client.get('/reload')).body)).toEqual({
        views: 1,
        note: 'from store',
      })
    })

    it('regenerate() issues a new id, destroys the old record and resets the data', async () => {
      const { store, client } = await start({
        'GET /regenerate': async (req, res) => {
          const before = req.sessionID
          await req.session.regenerate()
          json(res, { before, after: req.sessionID, views: req.session.views })
        },
      })
      await client.get('/count')
      const result = JSON.parse((await client.get('/regenerate')).body)
      expect(result.after).not.toBe(result.before)
      expect(result.views).toBe(0)
      expect(await stored(store, result.before)).toBeNull()
      expect(await stored(store, result.after)).not.toBeNull()
      expect(JSON.parse((await client.get('/read')).body).id).toBe(result.after)
    })

    it('destroy() deletes the record, clears the cookie, and the old cookie is anonymous', async () => {
      const { store, client } = await start({
        'GET /logout': (req, res) => {
          ;(req.session.destroy as unknown as (cb: (err?: unknown) => void) => unknown)((err) =>
            json(res, { err: err ?? null }),
          )
        },
      })
      const { id } = JSON.parse((await client.get('/count')).body)
      const oldCookie = client.cookieHeader()
      const response = await client.get('/logout')
      const cleared = parseSetCookie(response.setCookies[0]!)
      expect(cleared.value).toBe('')
      expect(cleared.attributes.get('expires')).toBe('Thu, 01 Jan 1970 00:00:00 GMT')
      expect(await stored(store, id)).toBeNull()
      const replay = await client.request('/read', { rawCookie: oldCookie })
      expect(JSON.parse(replay.body)).toMatchObject({ views: 0 })
      expect(JSON.parse(replay.body).id).not.toBe(id)
    })

    it('destroy() removes req.session, as express-session does: later code sees no session', async () => {
      const { client } = await start({
        'GET /logout': async (req, res) => {
          await req.session.destroy()
          const after = (req as { session?: { views?: number } }).session
          json(res, { hasSession: after !== undefined, views: after?.views ?? null })
        },
        'GET /logout-callback': (req, res) => {
          ;(req.session.destroy as unknown as (cb: () => void) => unknown)(() =>
            json(res, { hasSession: (req as { session?: unknown }).session !== undefined }),
          )
        },
      })
      await client.get('/count')
      expect(JSON.parse((await client.get('/logout')).body)).toEqual({
        hasSession: false,
        views: null,
      })
      await client.get('/count')
      expect(JSON.parse((await client.get('/logout-callback')).body)).toEqual({
        hasSession: false,
      })
    })

    it('writes to a destroyed session throw instead of reaching any session', async () => {
      const { client } = await start({
        'GET /after-destroy': async (req, res) => {
          const old = req.session
          await old.destroy()
          let threw = false
          try {
            old.views = 5
          } catch {
            threw = true
          }
          const saveError = await old.save().then(
            () => null,
            (err: { code?: string }) => err.code,
          )
          json(res, { threw, saveError })
        },
      })
      await client.get('/count')
      expect(JSON.parse((await client.get('/after-destroy')).body)).toEqual({
        threw: true,
        saveError: 'ERR_SESSION_DESTROYED',
      })
    })

    it('cookie.maxAge set in a handler ("remember me") changes the stored and sent expiry', async () => {
      const thirtyDays = 30 * 86_400_000
      const { store, client } = await start({
        'GET /remember': (req, res) => {
          ;(req.session.cookie as { maxAge: number | undefined }).maxAge = thirtyDays
          json(res, { id: req.sessionID })
        },
      })
      await client.get('/count')
      const response = await client.get('/remember')
      const { id } = JSON.parse(response.body)
      const expires = new Date(
        parseSetCookie(response.setCookies[0]!).attributes.get('expires')!,
      ).getTime()
      expect(expires - Date.now()).toBeGreaterThan(thirtyDays - 60_000)
      const record = (await stored(store, id))!
      expect((record.cookie as { originalMaxAge: number }).originalMaxAge).toBe(thirtyDays)
      // The longer life sticks on later writes.
      const later = await client.get('/count')
      const laterExpires = new Date(
        parseSetCookie(later.setCookies[0]!).attributes.get('expires')!,
      ).getTime()
      expect(laterExpires - Date.now()).toBeGreaterThan(thirtyDays - 60_000)
    })

    it('touch() extends the stored expiry and resends the cookie; resetMaxAge() restores the original', async () => {
      const { client } = await start({
        'GET /touch': (req: SessionRequest, res) => {
          req.session.touch()
          json(res, { maxAge: req.session.cookie.maxAge })
        },
        'GET /reset': (req: SessionRequest, res) => {
          const before = req.session.cookie.maxAge
          req.session.resetMaxAge()
          json(res, { before, maxAge: req.session.cookie.maxAge })
        },
      })
      await client.get('/count')
      const touched = await client.get('/touch')
      expect(touched.setCookies).toHaveLength(1)
      expect(JSON.parse(touched.body).maxAge).toBeGreaterThan(59_000)
      // The countdown has nearly run out (only the clock is faked); resetMaxAge() starts it again
      // at the full length.
      vi.useFakeTimers({ toFake: ['Date'] })
      try {
        vi.setSystemTime(Date.now() + 58_000)
        const reset = JSON.parse((await client.get('/reset')).body)
        expect(reset.before).toBeLessThan(3_000)
        expect(reset.maxAge).toBeGreaterThan(59_000)
      } finally {
        vi.useRealTimers()
      }
    })
  })
})
