// Issue 7, "Lifetimes and cookies": absolute lifetime (OWASP absolute timeout, ASVS 5 7.3.2;
// SECURITY-CASES D1-D4, D7), cookie prefixes (RFC 6265bis, ASVS 3.3.1/3.3.3; I4, I5), header
// injection through cookie options (CVE-2024-47764; I1-I3), secret rotation (Flask
// CVE-2025-47278; A2, A6, H6).

import { unsign } from 'cookie-signature'
import express from 'express'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { MemoryStore, type SessionEvent, session } from '../../src/index.js'
import { parseSetCookie } from '../helpers/http.js'
import {
  ForeverStore,
  GatedStore,
  idOf,
  listenRaw,
  OLD_SECRET,
  type RawServer,
  rawGet,
  SECRET,
  signedCookie,
} from './support.js'

const schema = z.object({ views: z.number().int().default(0) })
const MINUTE = 60_000
const HOUR = 60 * MINUTE

let server: RawServer | undefined
afterEach(async () => {
  vi.useRealTimers()
  await server?.close()
  server = undefined
})

async function start(options: Record<string, unknown>) {
  const events: SessionEvent[] = []
  const app = express()
  app.use(
    session({
      schema,
      secret: SECRET,
      onEvent: (e: SessionEvent) => events.push(e),
      ...options,
    } as never) as never,
  )
  app.get('/count', (req, res) => {
    const s = (req as unknown as { session: { views: number; id: string } }).session
    s.views++
    res.json({ views: s.views, id: s.id })
  })
  app.get('/read', (req, res) => {
    const s = (req as unknown as { session: { views: number; id: string } }).session
    res.json({ views: s.views, id: s.id })
  })
  server = await listenRaw(app)
  return { server, events }
}

const cookieOf = (setCookies: string[]): string => setCookies[0]!.split(';')[0]!

describe('absoluteTimeout', () => {
  it('ends a session used every 5 minutes once it is older than the limit (rolling too)', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2030, 0, 1) })
    const start0 = Date.now()
    // A store that never expires anything: the middleware alone must end the session.
    const store = new ForeverStore()
    const { server: raw, events } = await start({
      store,
      absoluteTimeout: 8 * HOUR,
      rolling: true,
      cookie: { maxAge: 30 * MINUTE },
    })
    let cookie = cookieOf((await rawGet(raw, '/count')).setCookies)
    const firstId = idOf(cookie.split('=')[1]!)
    let views = 1
    // A request every 5 minutes keeps the idle timeout from ever firing...
    while (Date.now() + 5 * MINUTE < start0 + 8 * HOUR) {
      vi.setSystemTime(Date.now() + 5 * MINUTE)
      const response = await rawGet(raw, '/count', cookie)
      const body = JSON.parse(response.body)
      views++
      expect(body).toEqual({ views, id: firstId })
      const setCookie = response.setCookies[0]
      if (setCookie !== undefined) {
        cookie = cookieOf([setCookie])
        // ...and the cookie never outlives the absolute deadline.
        const expires = Date.parse(parseSetCookie(setCookie).attributes.get('expires')!)
        expect(expires).toBeLessThanOrEqual(start0 + 8 * HOUR)
      }
    }
    expect(views).toBeGreaterThan(90)
    // ...but at creation + 8 h the session is over, however active it was.
    vi.setSystemTime(start0 + 8 * HOUR + 1)
    const after = JSON.parse((await rawGet(raw, '/count', cookie)).body)
    expect(after.views).toBe(1)
    expect(after.id).not.toBe(firstId)
    expect(events.map((e) => e.type)).toContain('expired_absolute')
    expect(store.records.has(firstId)).toBe(false)
  })

  it('is enforced on the server: a replayed cookie past the idle expiry gets a new session', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2030, 0, 1) })
    const store = new ForeverStore()
    const { server: raw, events } = await start({ store, cookie: { maxAge: 30 * MINUTE } })
    const cookie = cookieOf((await rawGet(raw, '/count')).setCookies)
    vi.setSystemTime(Date.now() + 30 * MINUTE + 1)
    // The browser would have dropped it; an attacker replays it anyway (CVE-2024-35220 class).
    const replay = JSON.parse((await rawGet(raw, '/count', cookie)).body)
    expect(replay.views).toBe(1)
    expect(replay.id).not.toBe(idOf(cookie.split('=')[1]!))
    expect(events.map((e) => e.type)).toContain('expired_idle')
    expect(store.records.has(idOf(cookie.split('=')[1]!))).toBe(false)
  })

  it('rejects contradicting lifetimes at session()', () => {
    const make = (options: object) => () => session({ schema, secret: SECRET, ...options } as never)
    expect(make({ absoluteTimeout: HOUR, cookie: { maxAge: 2 * HOUR } })).toThrow(/absoluteTimeout/)
    expect(make({ absoluteTimeout: -1 })).toThrow(/absoluteTimeout/)
    expect(make({ absoluteTimeout: Number.NaN })).toThrow(/absoluteTimeout/)
    expect(make({ cookie: { maxAge: -5 } })).toThrow(/maxAge/)
    expect(make({ cookie: { maxAge: 5, expires: new Date() } })).toThrow(/not both/)
  })
})

describe('cookie prefixes and header injection are refused at session()', () => {
  const cases: Array<[string, string | undefined, Record<string, unknown>]> = [
    ['__Host- with a domain', '__Host-sid', { domain: 'example.com' }],
    ['__Host- with a path other than /', '__Host-sid', { path: '/app' }],
    ['__Host- with secure: false', '__Host-sid', { secure: false }],
    ['__HOST- (any case) with a domain', '__HOST-sid', { domain: 'example.com' }],
    ['__Secure- with secure: false', '__Secure-sid', { secure: false }],
    ['__secure- (any case) with secure: false', '__secure-sid', { secure: false }],
    ["sameSite 'none' without Secure", undefined, { sameSite: 'none', secure: false }],
    ['; in domain', undefined, { domain: 'example.com; SameSite=None' }],
    ['; in path', undefined, { path: '/; HttpOnly=false' }],
    ['CR LF in domain', undefined, { domain: 'example.com\r\nSet-Cookie: x=1' }],
    ['LF in domain', undefined, { domain: 'example.com\nx' }],
    ['CR in path', undefined, { path: '/\rx' }],
    ['CR LF in path', undefined, { path: '/\r\nSet-Cookie: admin=1' }],
  ]
  it.each(cases)('%s', (_label, name, cookie) => {
    expect(() =>
      session({ schema, secret: SECRET, ...(name ? { name } : {}), cookie } as never),
    ).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }))
  })

  it.each(['a;b', 'a=b', 'a b', 'a\r\nb', 'a,b', 'sïd', ''])('cookie name %j', (name) => {
    expect(() => session({ schema, secret: SECRET, name } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }),
    )
  })

  it('accepts the consistent prefixed settings', () => {
    expect(() =>
      session({ schema, secret: SECRET, name: '__Host-sid', cookie: { secure: true } } as never),
    ).not.toThrow()
    expect(() =>
      session({
        schema,
        secret: SECRET,
        name: '__Secure-sid',
        cookie: { domain: 'example.com', secure: 'auto' },
      } as never),
    ).not.toThrow()
  })

  it('a hostile cookie function result fails that request only, with no Set-Cookie', async () => {
    const { server: raw } = await start({
      cookie: (req: { headers: Record<string, string> }) => ({
        domain: req.headers['x-evil'] === '1' ? 'example.com; SameSite=None' : undefined,
      }),
    })
    const evil = await new Promise<{ status: number; setCookies: string[] }>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request(
          { host: '127.0.0.1', port: raw.port, path: '/count', headers: { 'x-evil': '1' } },
          (res) => {
            res.resume()
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, setCookies: res.headers['set-cookie'] ?? [] }),
            )
          },
        )
        req.on('error', reject)
        req.end()
      }, reject)
    })
    expect(evil.status).toBe(500)
    expect(evil.setCookies).toEqual([])
    const fine = await rawGet(raw, '/count')
    expect(fine.status).toBe(200)
    expect(fine.setCookies).toHaveLength(1)
  })
})

describe('secret rotation', () => {
  it('accepts the old secret while listed, re-signs with the first, and refuses it once removed', async () => {
    const memory = new MemoryStore({ checkPeriodMs: 0 })
    const store = new GatedStore(memory)
    // An old deployment signed the cookie with OLD_SECRET.
    const old = await start({ secret: OLD_SECRET, store })
    const oldCookie = cookieOf((await rawGet(old.server, '/count')).setCookies)
    const id = idOf(oldCookie.split('=')[1]!)
    await old.server.close()

    // Rotation: [new, old]. The old cookie still works and comes back signed with the new secret.
    const rotated = await start({ secret: [SECRET, OLD_SECRET], store })
    const response = await rawGet(rotated.server, '/read', oldCookie)
    expect(JSON.parse(response.body)).toEqual({ views: 1, id })
    expect(response.setCookies).toHaveLength(1)
    const resigned = decodeURIComponent(parseSetCookie(response.setCookies[0]!).value)
    expect(unsign(resigned.slice(2), SECRET)).toBe(id)
    expect(unsign(resigned.slice(2), OLD_SECRET)).toBe(false)
    await rotated.server.close()

    // The old secret removed: the old cookie is a forgery now; the store is not even asked.
    const { server: raw, events } = await start({ secret: [SECRET], store })
    const getsBefore = store.count('get')
    const refused = JSON.parse((await rawGet(raw, '/read', oldCookie)).body)
    expect(refused.id).not.toBe(id)
    expect(refused.views).toBe(0)
    expect(store.count('get')).toBe(getsBefore)
    expect(events.map((e) => e.type)).toEqual(['invalid_signature'])
    // The re-signed cookie keeps working.
    const kept = JSON.parse(
      (await rawGet(raw, '/read', `sid=${encodeURIComponent(resigned)}`)).body,
    )
    expect(kept).toEqual({ views: 1, id })
    expect(signedCookie(id)).toBe(encodeURIComponent(resigned))
  })
})
