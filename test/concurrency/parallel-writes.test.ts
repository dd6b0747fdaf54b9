// Issue 7, "Concurrency": 50 parallel requests on one session, each setting its own key, lose
// nothing (expressjs/session #361, #606; SECURITY-CASES F1, F2), on the memory store, on a store
// without atomic writes, and on connect-redis 9 with a real Redis. Same-key conflicts: the last
// writer wins. Every handler waits at a barrier until all 50 have loaded the session, so each of
// them holds the same stale copy: the worst case for a middleware that saves the whole session.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { RedisStore } from 'connect-redis'
import express from 'express'
import expressSession from 'express-session'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryStore, type StoreOption, session } from '../../src/index.js'
import { connectRedis, requireRedis, uniqueName } from '../fixtures/services.js'
import {
  deferred,
  GatedStore,
  idOf,
  listenRaw,
  type RawServer,
  rawGet,
  SECRET,
  settle,
} from '../security/support.js'

const WRITERS = 50
const keys = Array.from({ length: WRITERS }, (_, i) => `k${i}`)
const schema = z.object({
  user: z.string().optional(),
  same: z.string().optional(),
  ...Object.fromEntries(keys.map((key) => [key, z.number().optional()])),
})

type Req = IncomingMessage & { session: Record<string, unknown> }

/** Counts for the closing note: writes lost per store (printed once at the end). */
const lostWrites: Record<string, number> = {}
afterAll(() => {
  console.info(
    `[issue-7 counts] concurrent writes lost of ${WRITERS}: ${JSON.stringify(lostWrites)}`,
  )
})

let server: RawServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/**
 * An app whose `/set?k=<key>` waits until `WRITERS` requests have loaded the session, then sets
 * its key. `/same?v=` sets one shared key and waits for its own gate (to order the writers).
 */
async function start(
  middleware: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void,
) {
  let loaded = 0
  const everyoneLoaded = deferred()
  const sameGates = new Map<string, ReturnType<typeof deferred>>()
  const app = express()
  app.use(middleware)
  app.get('/login', (req, res) => {
    ;(req as unknown as Req).session.user = 'alice'
    res.end('ok')
  })
  app.get('/set', async (req, res) => {
    loaded++
    if (loaded === WRITERS) everyoneLoaded.resolve()
    await everyoneLoaded.promise
    ;(req as unknown as Req).session[String(req.query.k)] = 1
    res.end('ok')
  })
  app.get('/same', async (req, res) => {
    const value = String(req.query.v)
    const gate = deferred()
    sameGates.set(value, gate)
    await gate.promise
    ;(req as unknown as Req).session.same = value
    res.end(value)
  })
  app.get('/read', (req, res) => {
    res.json({ ...(req as unknown as Req).session })
  })
  server = await listenRaw(app)
  return { server, sameGates }
}

/** Log in, fire the 50 writers in parallel, and return the keys present afterwards. */
async function runWriters(raw: RawServer): Promise<{ cookie: string; present: string[] }> {
  const login = await rawGet(raw, '/login')
  const cookie = login.setCookies[0]!.split(';')[0]!
  const responses = await Promise.all(keys.map((key) => rawGet(raw, `/set?k=${key}`, cookie)))
  expect(responses.map((response) => response.status)).toEqual(keys.map(() => 200))
  const read = JSON.parse((await rawGet(raw, '/read', cookie)).body) as Record<string, unknown>
  expect(read.user).toBe('alice')
  return { cookie, present: keys.filter((key) => read[key] === 1) }
}

/** Two writers of one key, the one released last finishes last: its value stays. */
async function runSameKey(
  raw: RawServer,
  gates: Map<string, ReturnType<typeof deferred>>,
): Promise<unknown> {
  const cookie = (await rawGet(raw, '/login')).setCookies[0]!.split(';')[0]!
  const first = rawGet(raw, '/same?v=first', cookie)
  const second = rawGet(raw, '/same?v=second', cookie)
  for (let i = 0; i < 2_000 && gates.size < 2; i++) await settle(1)
  gates.get('second')!.resolve()
  await second
  gates.get('first')!.resolve()
  await first
  return JSON.parse((await rawGet(raw, '/read', cookie)).body).same
}

describe('50 parallel writers on one session', () => {
  it('lose nothing on the memory store (atomic patch)', async () => {
    const { server: raw } = await start(
      session({ schema, secret: SECRET, store: new MemoryStore() }) as never,
    )
    const { present } = await runWriters(raw)
    lostWrites.memory = WRITERS - present.length
    expect(present).toEqual(keys)
  })

  it('lose nothing on a store without atomic writes (in-process merge of changed keys)', async () => {
    const store = new GatedStore(new MemoryStore())
    const { server: raw } = await start(session({ schema, secret: SECRET, store }) as never)
    const { present } = await runWriters(raw)
    lostWrites['set-only store'] = WRITERS - present.length
    expect(present).toEqual(keys)
  })

  it('the same scenario loses writes on express-session 1.19 (the test can fail)', async () => {
    const { server: raw } = await start(
      expressSession({ secret: SECRET, resave: false, saveUninitialized: false }) as never,
    )
    const { present } = await runWriters(raw)
    expect(present.length).toBeLessThan(WRITERS)
  })
})

describe('50 parallel writers on connect-redis 9 + Redis', () => {
  let client: Awaited<ReturnType<typeof connectRedis>>
  const prefix = `${uniqueName('ts_conc')}:`

  beforeAll(async () => {
    await requireRedis()
    client = await connectRedis()
  })
  afterAll(async () => {
    const found = await client.keys(`${prefix}*`)
    if (found.length > 0) await client.del(found)
    await client.quit()
  })

  it('lose nothing: all 50 keys are in the record Redis holds', async () => {
    const store = new RedisStore({ client, prefix }) as unknown as StoreOption
    const { server: raw } = await start(session({ schema, secret: SECRET, store }) as never)
    const { cookie, present } = await runWriters(raw)
    lostWrites.redis = WRITERS - present.length
    expect(present).toEqual(keys)
    const stored = JSON.parse(
      (await client.get(prefix + idOf(cookie.split('=')[1]!))) ?? '{}',
    ) as Record<string, unknown>
    expect(keys.filter((key) => stored[key] === 1)).toEqual(keys)
  })

  it('same key: the last writer wins (documented)', async () => {
    const store = new RedisStore({ client, prefix }) as unknown as StoreOption
    const { server: raw, sameGates } = await start(
      session({ schema, secret: SECRET, store }) as never,
    )
    expect(await runSameKey(raw, sameGates)).toBe('first')
  })
})

describe('same key on the memory store', () => {
  it('the last writer wins (documented)', async () => {
    const { server: raw, sameGates } = await start(
      session({ schema, secret: SECRET, store: new MemoryStore() }) as never,
    )
    expect(await runSameKey(raw, sameGates)).toBe('first')
  })
})
