// Issue 7, "Choices already made": a request that ends in a 5xx does not persist the changes it
// made to the session (as Django's test_session_save_on_500); `saveOnServerError` turns this off.
// SECURITY-CASES E3 (policy), F8 (a flash read by a failed request is not consumed).
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryStore, session } from '../../src/index.js'
import { idOf, listenRaw, type RawServer, rawGet, SECRET } from './support.js'

const schema = z.object({ user: z.string().optional(), step: z.number().int().default(0) })
type Req = {
  session: { user?: string; step: number }
  flash(kind: string, value?: string): unknown
}

let server: RawServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function start(saveOnServerError: boolean | undefined) {
  const store = new MemoryStore({ checkPeriodMs: 0 })
  const app = express()
  app.use(
    session({
      schema,
      secret: SECRET,
      store,
      flash: { info: z.string() },
      ...(saveOnServerError === undefined ? {} : { saveOnServerError }),
    }) as never,
  )
  const s = (req: unknown) => (req as Req).session
  app.get('/login', (req, res) => {
    s(req).user = 'alice'
    ;(req as unknown as Req).flash('info', 'welcome')
    res.end('ok')
  })
  app.get('/fail', (req, res) => {
    s(req).user = 'mallory'
    s(req).step++
    ;(req as unknown as Req).flash('info')
    res.status(500).end('boom')
  })
  app.get('/throw', (req) => {
    s(req).step = 99
    throw new Error('handler failed')
  })
  app.get('/unavailable', (req, res) => {
    s(req).step = 7
    res.status(503).json({ retry: true })
  })
  app.get('/not-found', (req, res) => {
    s(req).step = 4
    res.status(404).end()
  })
  app.get('/read', (req, res) => {
    res.json({ user: s(req).user ?? null, step: s(req).step })
  })
  app.get('/flash', (req, res) => res.json((req as unknown as Req).flash('info')))
  app.use((_err: unknown, _req: unknown, res: express.Response, _next: unknown) => {
    res.status(500).end('error')
  })
  server = await listenRaw(app)
  return { server, store }
}

describe('a request ending in 5xx', () => {
  it('does not persist its changes, and does not consume the flash it read', async () => {
    const { server: raw } = await start(undefined)
    const cookie = (await rawGet(raw, '/login')).setCookies[0]!.split(';')[0]!
    for (const path of ['/fail', '/throw', '/unavailable']) {
      const response = await rawGet(raw, path, cookie)
      expect(response.status).toBeGreaterThanOrEqual(500)
      expect(response.setCookies).toEqual([])
    }
    expect(JSON.parse((await rawGet(raw, '/read', cookie)).body)).toEqual({
      user: 'alice',
      step: 0,
    })
    expect(JSON.parse((await rawGet(raw, '/flash', cookie)).body)).toEqual(['welcome'])
  })

  it('a new session changed by a failing request is neither stored nor given a cookie', async () => {
    const { server: raw, store } = await start(undefined)
    const response = await rawGet(raw, '/fail')
    expect(response.status).toBe(500)
    expect(response.setCookies).toEqual([])
    expect(store.size).toBe(0)
  })

  it('4xx responses still save (only server errors roll back)', async () => {
    const { server: raw } = await start(undefined)
    const cookie = (await rawGet(raw, '/login')).setCookies[0]!.split(';')[0]!
    expect((await rawGet(raw, '/not-found', cookie)).status).toBe(404)
    expect(JSON.parse((await rawGet(raw, '/read', cookie)).body).step).toBe(4)
  })

  it('saveOnServerError: true persists them (Laravel/express-session behaviour)', async () => {
    const { server: raw, store } = await start(true)
    const cookie = (await rawGet(raw, '/login')).setCookies[0]!.split(';')[0]!
    expect((await rawGet(raw, '/fail', cookie)).status).toBe(500)
    expect(JSON.parse((await rawGet(raw, '/read', cookie)).body)).toEqual({
      user: 'mallory',
      step: 1,
    })
    expect(JSON.parse((await rawGet(raw, '/flash', cookie)).body)).toEqual([])
    expect(await store.get(idOf(cookie.split('=')[1]!))).toBeTruthy()
  })
})
