import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryStore, type SessionStore, session } from '../../src/index.js'
import { FRAMEWORKS, type Handler, json, serve } from '../helpers/apps.js'
import { CookieClient, parseSetCookie, type TestServer } from '../helpers/http.js'
import { spyStore } from '../helpers/spy-store.js'

const SECRET = 'a-test-secret-that-is-32-chars-long!'
const schema = z.object({
  userId: z.string().optional(),
  views: z.number().int().default(0),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int() })).default([]),
})

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe.each(FRAMEWORKS)('session() on %s', (framework) => {
  const routes: Record<string, Handler> = {
    'GET /count': (req, res) => {
      ;(req.session.views as number)++
      json(res, { views: req.session.views, id: req.sessionID })
    },
    'GET /read': (req, res) =>
      json(res, { views: req.session.views, cart: req.session.cart, id: req.session.id }),
    'POST /cart': (req, res) => {
      ;(req.session.cart as unknown[]).push({ sku: 'a', qty: 1 })
      res.statusCode = 302
      res.setHeader('location', '/read')
      res.end()
    },
  }

  it('creates a session on the first change and follows it with the cookie', async () => {
    server = await serve(framework, session({ schema, secret: SECRET }), routes)
    const client = new CookieClient(server.url)
    const first = await client.get('/count')
    expect(JSON.parse(first.body).views).toBe(1)
    expect(first.setCookies).toHaveLength(1)
    const second = await client.get('/count')
    expect(JSON.parse(second.body)).toEqual({ views: 2, id: JSON.parse(first.body).id })
  })

  it('applies schema defaults to a new session and sets no cookie when nothing changed', async () => {
    const store = spyStore()
    server = await serve(framework, session({ schema, secret: SECRET, store }), routes)
    const response = await new CookieClient(server.url).get('/read')
    expect(JSON.parse(response.body)).toMatchObject({ views: 0, cart: [] })
    expect(response.setCookies).toEqual([])
    expect(store.calls).toEqual([])
  })

  it('saves before the response is released, so a redirect target sees the change', async () => {
    server = await serve(framework, session({ schema, secret: SECRET }), routes)
    const client = new CookieClient(server.url)
    const posted = await client.post('/cart')
    expect(posted.status).toBe(302)
    const read = await client.get('/read')
    expect(JSON.parse(read.body).cart).toEqual([{ sku: 'a', qty: 1 }])
  })

  it('sets the safe cookie defaults and the express-session wire format', async () => {
    server = await serve(
      framework,
      session({ schema, secret: SECRET, cookie: { maxAge: 60_000 } }),
      routes,
    )
    const response = await new CookieClient(server.url).get('/count')
    const cookie = parseSetCookie(response.setCookies[0]!)
    expect(cookie.name).toBe('sid')
    expect(decodeURIComponent(cookie.value)).toMatch(/^s:[A-Za-z0-9_-]{32}\.[A-Za-z0-9+/]{43}$/)
    expect(cookie.attributes.has('httponly')).toBe(true)
    expect(cookie.attributes.get('samesite')).toBe('Lax')
    expect(cookie.attributes.get('path')).toBe('/')
    expect(cookie.attributes.has('secure')).toBe(false)
    const expires = new Date(cookie.attributes.get('expires')!).getTime()
    expect(Math.abs(expires - (Date.now() + 60_000))).toBeLessThan(2_000)
  })

  it('gives a tampered or unknown cookie a fresh session with a new id', async () => {
    const store = spyStore()
    server = await serve(framework, session({ schema, secret: SECRET, store }), routes)
    const client = new CookieClient(server.url)
    const { id } = JSON.parse((await client.get('/count')).body)
    const value = client.cookies.get('sid')!
    const tampered = value.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))
    const forged = await client.request('/count', { rawCookie: `sid=${tampered}` })
    expect(JSON.parse(forged.body).views).toBe(1)
    expect(JSON.parse(forged.body).id).not.toBe(id)
    // A validly signed id the store does not know is never adopted.
    await store.inner.destroy(id)
    const unknown = await client.request('/count', { rawCookie: `sid=${value}` })
    expect(JSON.parse(unknown.body).id).not.toBe(id)
    expect(await store.inner.get(id)).toBeFalsy()
  })

  it('reaches next(err) with ERR_SESSION_STORE when the store fails, and recovers', async () => {
    let broken = false
    const inner = new MemoryStore()
    const store: SessionStore = {
      get: (id) => (broken ? Promise.reject(new Error('down')) : inner.get(id)),
      set: (id, record) => (broken ? Promise.reject(new Error('down')) : inner.set(id, record)),
      destroy: (id) => inner.destroy(id),
    }
    server = await serve(framework, session({ schema, secret: SECRET, store }), routes)
    const client = new CookieClient(server.url)
    await client.get('/count')
    broken = true
    const failed = await client.get('/count')
    expect(failed.status).toBe(503)
    expect(failed.body).toBe('ERR_SESSION_STORE')
    broken = false
    const healed = await client.get('/count')
    expect(JSON.parse(healed.body).views).toBe(2)
  })
})
