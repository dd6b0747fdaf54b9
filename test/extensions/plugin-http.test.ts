// Declaration-merging extensions (issue 14), at run time through HTTP: the test plugin
// (types-test/plugin) adds a `tracker` key to every session and ships its schema fragment. Records
// loaded from the store are validated against the fragment too: invalid plugin data follows the
// app's onInvalid policy ('fresh', 'error', a repair function), and a handler's invalid write is
// refused before it is saved.
import type { ErrorRequestHandler } from 'express'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  type InvalidPolicy,
  isSessionError,
  MemoryStore,
  type SessionEvent,
  type SessionIssue,
  session,
  sessionExtension,
} from '../../src/index.js'
import { trackerExtension, trackVisits } from '../../types-test/plugin/index.js'
import { CookieClient, listen, type TestServer } from '../helpers/http.js'

const secret = 'extension-suite-secret-0123456789abcdef'
const schema = z.object({ views: z.number().int().default(0) })

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** An app with the plugin: its middleware counts visits, `/` shows the session as JSON. */
async function pluginApp(onInvalid: InvalidPolicy = 'fresh') {
  const store = new MemoryStore()
  const events: SessionEvent[] = []
  const appSession = session({
    schema,
    secret,
    store,
    onInvalid,
    extensions: [trackerExtension],
    onEvent: (event) => events.push(event),
  })
  const app = express()
  app.use(appSession)
  app.use(trackVisits())
  app.get(
    '/',
    appSession.handler((req, res) => {
      req.session.views++
      res.json({ id: req.sessionID, views: req.session.views, tracker: req.session.tracker })
    }),
  )
  app.get('/bad-write', (req, res) => {
    // A handler (or a buggy plugin) writing what the fragment refuses; JavaScript would not stop it.
    ;(req.session as { tracker?: unknown }).tracker = { visits: -1 }
    res.send('written')
  })
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    res
      .status(isSessionError(err) ? err.status : 500)
      .json({ code: isSessionError(err) ? err.code : String(err), issues: err?.issues })
  }
  app.use(onError)
  server = await listen(app)
  return { store, events, client: new CookieClient(server.url) }
}

/** The record the store holds (MemoryStore hands out its JSON text). */
async function stored(store: MemoryStore, id: string): Promise<Record<string, unknown>> {
  const record = await store.get(id)
  return typeof record === 'string' ? JSON.parse(record) : {}
}

/** Overwrite the stored record's `tracker` (a store another version of the plugin wrote to). */
async function plantTracker(store: MemoryStore, id: string, tracker: unknown): Promise<void> {
  const record = await stored(store, id)
  expect(record, 'the session is in the store').toBeTypeOf('object')
  await store.set(id, { ...record, tracker } as never)
}

describe('a plugin key (SessionExtensions + sessionExtension)', () => {
  it('is written by the plugin, stored, and loaded again through its fragment', async () => {
    const { store, client } = await pluginApp()
    const first = await client.get('/')
    const body = JSON.parse(first.body)
    expect(body).toEqual({ id: body.id, views: 1, tracker: { visits: 1, lastPath: '/' } })
    expect(await stored(store, body.id)).toMatchObject({ views: 1, tracker: { visits: 1 } })
    const second = JSON.parse((await client.get('/')).body)
    expect(second).toEqual({ id: body.id, views: 2, tracker: { visits: 2, lastPath: '/' } })
  })

  it("invalid plugin data in the store follows onInvalid 'fresh': a new session", async () => {
    const { store, events, client } = await pluginApp('fresh')
    const { id } = JSON.parse((await client.get('/')).body)
    await client.get('/')
    await plantTracker(store, id, { visits: 'many' })
    const after = JSON.parse((await client.get('/')).body)
    // The app's own key was valid (views: 2), but the record as a whole is refused.
    expect(after.id).not.toBe(id)
    expect(after).toMatchObject({ views: 1, tracker: { visits: 1 } })
    const invalid = events.find((e) => e.type === 'invalid_data')
    expect(invalid?.type === 'invalid_data' && invalid.issues.map((i) => i.path)).toEqual([
      ['tracker', 'visits'],
    ])
  })

  it("invalid plugin data follows onInvalid 'error': ERR_SESSION_INVALID with the key's path", async () => {
    const { store, client } = await pluginApp('error')
    const { id } = JSON.parse((await client.get('/')).body)
    await plantTracker(store, id, 'not an object')
    const response = await client.get('/')
    expect(response.status).toBe(500)
    const body = JSON.parse(response.body)
    expect(body.code).toBe('ERR_SESSION_INVALID')
    expect(body.issues.map((i: SessionIssue) => i.path)).toEqual([['tracker']])
    // The record is left as it was for the app to look at.
    expect(await stored(store, id)).toMatchObject({ tracker: 'not an object' })
  })

  it('invalid plugin data reaches a repair function, whose answer is validated again', async () => {
    const repairs: Array<{ record: unknown; paths: unknown[] }> = []
    const repair: InvalidPolicy = (record, issues) => {
      repairs.push({ record, paths: issues.map((i) => i.path) })
      const tracker = record.tracker as { hits?: number }
      return { ...record, tracker: { visits: tracker.hits ?? 0 } }
    }
    const { store, client } = await pluginApp(repair)
    const { id } = JSON.parse((await client.get('/')).body)
    // An older version of the plugin stored `hits`.
    await plantTracker(store, id, { hits: 41 })
    const after = JSON.parse((await client.get('/')).body)
    expect(after).toEqual({ id, views: 2, tracker: { visits: 42, lastPath: '/' } })
    expect(repairs).toEqual([
      { record: { views: 1, tracker: { hits: 41 } }, paths: [['tracker', 'visits']] },
    ])
  })

  it("a repair answer's own __proto__ key stays a key: the app's schema never reads through it", async () => {
    // A repair function that parses JSON hands over an own `__proto__` key. Copied by assignment
    // for the app's schema, it would become the copy's prototype, and the schema would read
    // `views` from it: data nobody validated, let in as if it were stored.
    const repair: InvalidPolicy = () =>
      JSON.parse('{"__proto__":{"views":1000},"tracker":{"visits":1,"lastPath":"/"}}')
    const { store, client } = await pluginApp(repair)
    const { id } = JSON.parse((await client.get('/')).body)
    await plantTracker(store, id, { hits: 41 })
    const after = JSON.parse((await client.get('/')).body)
    expect(after).toEqual({ id, views: 1, tracker: { visits: 2, lastPath: '/' } })
    expect(await stored(store, id)).toMatchObject({ views: 1 })
  })

  it('a write the fragment refuses is not saved: ERR_SESSION_INVALID_DATA', async () => {
    const { store, client } = await pluginApp()
    const { id } = JSON.parse((await client.get('/')).body)
    const response = await client.get('/bad-write')
    expect(response.status).toBe(500)
    const body = JSON.parse(response.body)
    expect(body.code).toBe('ERR_SESSION_INVALID_DATA')
    expect(body.issues.map((i: SessionIssue) => i.path)).toEqual([['tracker', 'visits']])
    expect(await stored(store, id)).toMatchObject({ tracker: { visits: 1 } })
  })

  it("works beside a strict app schema (the app's schema never sees the plugin's key)", async () => {
    const appSession = session({
      schema: z.strictObject({ views: z.number().int().default(0) }),
      secret,
      extensions: [trackerExtension],
    })
    const app = express()
    app.use(appSession, trackVisits())
    app.get('/', (req, res) => res.json(req.session.tracker))
    server = await listen(app)
    const client = new CookieClient(server.url)
    await client.get('/')
    expect(JSON.parse((await client.get('/')).body)).toEqual({ visits: 2, lastPath: '/' })
  })
})

describe('a plugin used without its fragment (JavaScript: nothing to compile)', () => {
  it("refuses the plugin's write, naming the key, instead of storing unvalidated data", async () => {
    const store = new MemoryStore()
    // The compiler refuses this call (the fragment is missing); JavaScript does not.
    const appSession = session({ schema, secret, store } as never)
    const app = express()
    app.use(appSession, trackVisits())
    app.get('/', (_req, res) => res.send('ok'))
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      res
        .status(500)
        .json({ code: isSessionError(err) ? err.code : String(err), message: err.message })
    }
    app.use(onError)
    server = await listen(app)
    const response = await new CookieClient(server.url).get('/')
    expect(response.status).toBe(500)
    const body = JSON.parse(response.body)
    expect(body.code).toBe('ERR_SESSION_INVALID_DATA')
    expect(body.message).toContain('tracker')
  })
})

describe('the extensions option at session()', () => {
  const fails = (options: Record<string, unknown>, message: RegExp) => {
    let thrown: unknown
    try {
      session({ schema, secret, ...options } as never)
    } catch (err) {
      thrown = err
    }
    expect(isSessionError(thrown) && thrown.code).toBe('ERR_SESSION_OPTIONS')
    expect((thrown as Error).message).toMatch(message)
  }

  it('refuses a key that the schema has too, a key in two fragments, a flash kind of that name', () => {
    fails(
      {
        schema: z.object({ tracker: z.number().optional() }),
        extensions: [trackerExtension],
      },
      /key 'tracker' is in the schema and in an extension/,
    )
    fails(
      { extensions: [trackerExtension, trackerExtension] },
      /key 'tracker' is in two extensions/,
    )
    fails(
      { extensions: [trackerExtension], flash: { tracker: z.string() } },
      /flash kind "tracker" collides with a key of an extension/,
    )
  })

  it('refuses what is not a list of sessionExtension() fragments', () => {
    fails({ extensions: trackerExtension }, /extensions must be a list of sessionExtension\(\)/)
    fails(
      { extensions: [{ tracker: z.number() }] },
      /extensions\[0\] is not a sessionExtension\(\)/,
    )
  })

  it('sessionExtension() refuses reserved names and keys without a schema', () => {
    const throws = (shape: unknown, message: RegExp) =>
      expect(() => sessionExtension(shape as never)).toThrow(message)
    throws({ cookie: z.string().optional() }, /key 'cookie': reserved for a session member/)
    throws(JSON.parse('{"__proto__": 1}'), /key '__proto__': reserved/)
    throws({ tracker: 'a string' }, /key 'tracker' needs a schema/)
    throws({}, /at least one key/)
  })
})
