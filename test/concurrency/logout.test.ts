// Issue 7, "Logout is final" (rack-session CVE-2025-46336, Django
// test_session_save_does_not_resurrect_session_logged_out_in_other_context, vert.x #2771;
// SECURITY-CASES F3, C2, C4) and "a flash message is delivered once" (F8, connect-flash #23).
// A slow request that started before the logout must not write the old session back, whether it
// is still in its handler, has its store write in flight, or has a stale read in flight. The
// interleavings are driven by gates in the store and in the handler, never by timing.
import type { IncomingMessage } from 'node:http'
import { RedisStore } from 'connect-redis'
import express from 'express'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type SessionEvent, type SessionStore, session } from '../../src/index.js'
import { connectRedis, requireRedis, uniqueName } from '../fixtures/services.js'
import {
  deferred,
  GatedPatchStore,
  GatedStore,
  idOf,
  listenRaw,
  type RawServer,
  rawGet,
  SECRET,
  settle,
  until,
} from '../security/support.js'

const schema = z.object({ user: z.string().optional(), note: z.string().optional() })
type Req = IncomingMessage & {
  session: Record<string, unknown> & {
    destroy(): Promise<void>
    regenerate(): Promise<void>
    save(): Promise<void>
  }
  flash(kind: string, value?: string): unknown
}

let server: RawServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** Counts for the closing note. */
const counts = { scenarios: 0, resurrections: 0, flashDuplicates: 0 }
afterAll(() => {
  console.info(
    `[issue-7 counts] logout races run: ${counts.scenarios}, resurrections after logout: ${counts.resurrections}, flash shown twice: ${counts.flashDuplicates}`,
  )
})

/** The app: login, a slow request that writes after a gate, logout, rotate, flash. */
async function start(store: SessionStore) {
  const events: SessionEvent[] = []
  const handlerGate = { current: deferred() }
  const inHandler = { count: 0 }
  const app = express()
  app.use(
    session({
      schema,
      secret: SECRET,
      store,
      flash: { info: z.string() },
      onEvent: (event) => events.push(event),
    }) as never,
  )
  app.get('/login', (req, res) => {
    ;(req as unknown as Req).session.user = 'alice'
    res.end('ok')
  })
  app.get('/slow', async (req, res) => {
    const r = req as unknown as Req
    inHandler.count++
    const user = r.session.user
    await handlerGate.current.promise
    r.session.note = 'late write'
    res.json({ user: user ?? null })
  })
  app.get('/slow-save', async (req, res) => {
    const r = req as unknown as Req
    inHandler.count++
    await handlerGate.current.promise
    r.session.note = 'late write'
    // An explicit save: its caller must learn that nothing was written.
    const code = await r.session.save().then(
      () => 'saved',
      (err: { code?: string }) => err.code,
    )
    res.json({ code })
  })
  app.get('/logout', async (req, res) => {
    await (req as unknown as Req).session.destroy()
    res.end('bye')
  })
  app.get('/rotate', async (req, res) => {
    await (req as unknown as Req).session.regenerate()
    ;(req as unknown as Req).session.user = 'alice'
    res.end('rotated')
  })
  app.get('/rotate-slow', async (req, res, next) => {
    const r = req as unknown as Req
    inHandler.count++
    await handlerGate.current.promise
    try {
      await r.session.regenerate()
      r.session.user = 'alice'
      res.end('rotated')
    } catch (err) {
      next(err)
    }
  })
  app.get('/whoami', (req, res) => {
    const r = req as unknown as Req
    res.json({ user: r.session.user ?? null, note: r.session.note ?? null })
  })
  app.get('/flash-set', (req, res) => {
    ;(req as unknown as Req).flash('info', 'saved!')
    res.end('ok')
  })
  app.get('/flash-read', async (req, res) => {
    // `?late=1`: wait before reading (both readers loaded first); otherwise read, then wait.
    const late = req.query.late === '1'
    inHandler.count++
    if (late) await handlerGate.current.promise
    const shown = (req as unknown as Req).flash('info')
    if (!late) await handlerGate.current.promise
    res.json(shown)
  })
  server = await listenRaw(app)
  return { server, events, handlerGate, inHandler }
}

/** Whether the old session came back: a record under its id, or its cookie logged in. */
async function resurrected(
  raw: RawServer,
  cookie: string,
  readStore: (id: string) => Promise<unknown>,
): Promise<boolean> {
  const record = await readStore(idOf(cookie.split('=')[1]!))
  const who = JSON.parse((await rawGet(raw, '/whoami', cookie)).body) as { user: unknown }
  counts.scenarios++
  const back = (record !== null && record !== undefined) || who.user !== null
  if (back) counts.resurrections++
  return back
}

type Backend = {
  name: string
  make(): { store: GatedStore; read(id: string): Promise<unknown> }
}

const backends: Backend[] = [
  {
    name: 'memory store',
    make() {
      const store = new GatedPatchStore()
      return { store, read: (id) => store.memory.get(id) }
    },
  },
]

describe('logout and flash races', () => {
  // Registered here so the Redis client exists before the describe.each below runs its tests.
  let client: Awaited<ReturnType<typeof connectRedis>> | undefined
  const prefix = `${uniqueName('ts_logout')}:`
  beforeAll(async () => {
    await requireRedis()
    client = await connectRedis()
  })
  afterAll(async () => {
    if (client === undefined) return
    const found = await client.keys(`${prefix}*`)
    if (found.length > 0) await client.del(found)
    await client.quit()
  })
  backends.push({
    name: 'connect-redis 9',
    make() {
      const redis = new RedisStore({ client: client!, prefix })
      const store = new GatedStore(redis as unknown as SessionStore)
      return { store, read: async (id) => client!.get(prefix + id) }
    },
  })
  runLogoutSuite()
})

function runLogoutSuite(): void {
  describe.each(backends.map((backend) => [backend.name, backend] as const))(
    'logout is final on %s',
    (_name, backend) => {
      it('a request still in its handler during logout cannot write the session back', async () => {
        const { store, read } = backend.make()
        const { server: raw, events, handlerGate, inHandler } = await start(store)
        const cookie = (await rawGet(raw, '/login')).setCookies[0]!.split(';')[0]!
        const slow = rawGet(raw, '/slow', cookie)
        await until(() => inHandler.count === 1)
        expect((await rawGet(raw, '/logout', cookie)).status).toBe(200)
        handlerGate.current.resolve()
        expect(JSON.parse((await slow).body)).toEqual({ user: 'alice' })
        expect(await resurrected(raw, cookie, read)).toBe(false)
        expect(events.map((event) => event.type)).toContain('resurrection_blocked')
      })

      it('an explicit save() of a session logged out meanwhile rejects with ERR_SESSION_DESTROYED', async () => {
        const { store, read } = backend.make()
        const { server: raw, events, handlerGate, inHandler } = await start(store)
        const cookie = (await rawGet(raw, '/login')).setCookies[0]!.split(';')[0]!
        const slow = rawGet(raw, '/slow-save', cookie)
        await until(() => inHandler.count === 1)
        expect((await rawGet(raw, '/logout', cookie)).status).toBe(200)
        handlerGate.current.resolve()
        expect(JSON.parse((await slow).body)).toEqual({ code: 'ERR_SESSION_DESTROYED' })
        expect(await resurrected(raw, cookie, read)).toBe(false)
        expect(events.map((event) => event.type)).toContain('resurrection_blocked')
      })

      it('a store write already in flight during logout does not land after it', async () => {
        const { store, read } = backend.make()
        const { server: raw, handlerGate } = await start(store)
        handlerGate.current.resolve()
        const cookie = (await rawGet(raw, '/login')).setCookies[0]!.split(';')[0]!
        const write = store.hold(store instanceof GatedPatchStore ? 'patch' : 'set')
        const slow = rawGet(raw, '/slow', cookie)
        await write.arrived
        const logout = rawGet(raw, '/logout', cookie)
        await settle(20)
        write.release()
        expect((await logout).status).toBe(200)
        expect((await slow).status).toBe(200)
        expect(await resurrected(raw, cookie, read)).toBe(false)
      })

      it('a stale read in flight during logout does not revive the session', async () => {
        const { store, read } = backend.make()
        const { server: raw, handlerGate } = await start(store)
        handlerGate.current.resolve()
        const cookie = (await rawGet(raw, '/login')).setCookies[0]!.split(';')[0]!
        const staleRead = store.hold('get')
        const slow = rawGet(raw, '/slow', cookie)
        await staleRead.arrived
        expect((await rawGet(raw, '/logout', cookie)).status).toBe(200)
        staleRead.release()
        // The slow request saw the session as it was before the logout: it must not get it.
        expect(JSON.parse((await slow).body)).toEqual({ user: null })
        expect(await resurrected(raw, cookie, read)).toBe(false)
      })

      it('regenerate() is final for the old id too', async () => {
        const { store, read } = backend.make()
        const { server: raw, handlerGate, inHandler } = await start(store)
        const cookie = (await rawGet(raw, '/login')).setCookies[0]!.split(';')[0]!
        const slow = rawGet(raw, '/slow', cookie)
        await until(() => inHandler.count === 1)
        const rotated = await rawGet(raw, '/rotate', cookie)
        const newCookie = rotated.setCookies[0]!.split(';')[0]!
        expect(newCookie).not.toBe(cookie)
        handlerGate.current.resolve()
        await slow
        expect(await resurrected(raw, cookie, read)).toBe(false)
        const who = JSON.parse((await rawGet(raw, '/whoami', newCookie)).body)
        expect(who).toEqual({ user: 'alice', note: null })
      })

      it('two concurrent regenerate() calls leave exactly one new session (F4)', async () => {
        const { store, read } = backend.make()
        const { server: raw, handlerGate, inHandler } = await start(store)
        const cookie = (await rawGet(raw, '/login')).setCookies[0]!.split(';')[0]!
        const slow = rawGet(raw, '/rotate-slow', cookie)
        await until(() => inHandler.count === 1)
        const first = await rawGet(raw, '/rotate', cookie)
        const newCookie = first.setCookies[0]!.split(';')[0]!
        handlerGate.current.resolve()
        const second = await slow
        // The second request loaded the same session before the first regenerated it: its own
        // regenerate would open a second live session with the same login, so it fails instead.
        expect(second.status).toBe(500)
        expect(second.setCookies).toEqual([])
        expect(await resurrected(raw, cookie, read)).toBe(false)
        expect(JSON.parse((await rawGet(raw, '/whoami', newCookie)).body)).toEqual({
          user: 'alice',
          note: null,
        })
      })

      it('a flash message is shown once to two parallel readers (both loaded first)', async () => {
        const { store } = backend.make()
        const { server: raw, handlerGate, inHandler } = await start(store)
        const cookie = (await rawGet(raw, '/flash-set')).setCookies[0]!.split(';')[0]!
        const a = rawGet(raw, '/flash-read?late=1', cookie)
        const b = rawGet(raw, '/flash-read?late=1', cookie)
        await until(() => inHandler.count === 2)
        handlerGate.current.resolve()
        const shown = [JSON.parse((await a).body), JSON.parse((await b).body)].flat()
        if (shown.length > 1) counts.flashDuplicates++
        expect(shown).toEqual(['saved!'])
        expect(JSON.parse((await rawGet(raw, '/flash-read', cookie)).body)).toEqual([])
      })

      it('a flash message is shown once when the second reader loads after the first took it', async () => {
        const { store } = backend.make()
        const { server: raw, handlerGate, inHandler } = await start(store)
        const cookie = (await rawGet(raw, '/flash-set')).setCookies[0]!.split(';')[0]!
        // A takes the message and waits in its handler, before its write removes it from the store.
        const a = rawGet(raw, '/flash-read', cookie)
        await until(() => inHandler.count === 1)
        const b = rawGet(raw, '/flash-read', cookie)
        await until(() => inHandler.count === 2)
        handlerGate.current.resolve()
        const shown = [JSON.parse((await a).body), JSON.parse((await b).body)].flat()
        if (shown.length > 1) counts.flashDuplicates++
        expect(shown).toEqual(['saved!'])
      })
    },
  )
}
