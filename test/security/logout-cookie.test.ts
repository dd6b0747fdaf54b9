// SECURITY-CASES C1, C2, C5, I8: destroy() deletes the record and clears the cookie with the same
// attributes; a replayed cookie never comes back to life; a logout without a cookie creates
// nothing; the cookie path is matched as RFC 6265 says (@fastify/session #169).
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryStore, session } from '../../src/index.js'
import { parseSetCookie } from '../helpers/http.js'
import { idOf, listenRaw, type RawServer, SECRET } from './support.js'

const schema = z.object({ user: z.string().optional() })
type Req = { session: { user?: string; destroy(): Promise<void> } }

let server: RawServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function start(cookie: Record<string, unknown>) {
  const store = new MemoryStore({ checkPeriodMs: 0 })
  const app = express()
  app.set('trust proxy', true)
  app.use(
    session({ schema, secret: SECRET, store, name: '__Secure-sid', cookie } as never) as never,
  )
  const s = (req: unknown) => (req as Req).session
  app.get(/.*\/login$/, (req, res) => {
    s(req).user = 'alice'
    res.end('ok')
  })
  app.get(/.*\/logout$/, async (req, res) => {
    await s(req).destroy()
    res.end('bye')
  })
  app.get(/.*\/whoami$/, (req, res) => res.json({ user: s(req)?.user ?? null }))
  server = await listenRaw(app)
  return { server, store }
}

/** A GET as seen behind a TLS-terminating proxy (so the Secure cookie may be set). */
function get(raw: RawServer, path: string, cookie?: string) {
  return new Promise<{ status: number; body: string; setCookies: string[] }>((resolve, reject) => {
    import('node:http').then(({ request }) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: raw.port,
          path,
          agent: raw.agent,
          headers: { 'x-forwarded-proto': 'https', ...(cookie ? { cookie } : {}) },
        },
        (res) => {
          let body = ''
          res.on('data', (chunk) => {
            body += chunk
          })
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body,
              setCookies: res.headers['set-cookie'] ?? [],
            }),
          )
        },
      )
      req.on('error', reject)
      req.end()
    }, reject)
  })
}

describe('logout', () => {
  it('deletes the record and clears the cookie with the same name, path, domain and flags', async () => {
    const { server: raw, store } = await start({
      path: '/app',
      domain: 'example.test',
      secure: true,
      sameSite: 'strict',
      maxAge: 60_000,
    })
    const login = await get(raw, '/app/login')
    const cookie = login.setCookies[0]!.split(';')[0]!
    const id = idOf(cookie.split('=')[1]!)
    expect(await store.get(id)).toBeTruthy()
    const logout = await get(raw, '/app/logout', cookie)
    expect(logout.setCookies).toHaveLength(1)
    const cleared = parseSetCookie(logout.setCookies[0]!)
    expect(cleared.name).toBe('__Secure-sid')
    expect(cleared.value).toBe('')
    expect(cleared.attributes.get('path')).toBe('/app')
    expect(cleared.attributes.get('domain')).toBe('example.test')
    expect(cleared.attributes.has('secure')).toBe(true)
    expect(cleared.attributes.get('samesite')).toBe('Strict')
    expect(new Date(cleared.attributes.get('expires')!).getTime()).toBe(0)
    expect(await store.get(id)).toBeUndefined()
    // C2: the captured cookie, replayed, is anonymous and never valid again, even after a new login.
    expect(JSON.parse((await get(raw, '/app/whoami', cookie)).body).user).toBe(null)
    await get(raw, '/app/login')
    expect(JSON.parse((await get(raw, '/app/whoami', cookie)).body).user).toBe(null)
    expect(await store.get(id)).toBeUndefined()
  })

  it('a logout without a cookie writes nothing and sets no cookie (C5)', async () => {
    const { server: raw, store } = await start({})
    for (let i = 0; i < 200; i++) {
      const response = await get(raw, '/logout')
      expect(response.setCookies).toEqual([])
    }
    expect(store.size).toBe(0)
  })
})

describe('cookie path', () => {
  it('is matched per RFC 6265: /admin covers /admin and /admin/x, not /administrator', async () => {
    const { server: raw } = await start({ path: '/admin' })
    const login = await get(raw, '/admin/login')
    expect(login.setCookies).toHaveLength(1)
    const cookie = login.setCookies[0]!.split(';')[0]!
    expect(JSON.parse((await get(raw, '/admin/x/whoami', cookie)).body).user).toBe('alice')
    // Outside the path the middleware does not run (req.session is absent, so this handler
    // throws): no session is started there for a cookie the browser would never send back.
    const outside = await get(raw, '/administrator/login', cookie)
    expect(outside.status).toBe(500)
    expect(outside.setCookies).toEqual([])
  })
})
