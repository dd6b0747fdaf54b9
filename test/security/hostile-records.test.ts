// Issue 7, "Hostile input": arbitrary stored records (any JSON, `__proto__`, `constructor`, deep
// nesting, huge arrays, wrong types) never reach a handler unvalidated and never change any
// prototype; a record over `maxSessionBytes` is refused with a clear report. SECURITY-CASES A12-A15,
// G6, G7 (ASVS 5 2.2.1, 15.3.6; TencentRdmCi/session-memory-store #3; express-session #85).
import express from 'express'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  isSessionError,
  nativeStore,
  type SessionEvent,
  type SessionRecord,
  type SessionStore,
  session,
} from '../../src/index.js'
import { listenRaw, type RawServer, randomId, rawGet, SECRET, signedCookie } from './support.js'

const schema = z.object({
  user: z.string().optional(),
  role: z.enum(['user', 'admin']).default('user'),
  items: z.array(z.number()).max(1_000).default([]),
})
/** What a handler may see: exactly the schema's keys, nothing else. */
const seen = z.strictObject({
  user: z.string().optional(),
  role: z.enum(['user', 'admin']),
  items: z.array(z.number()).max(1_000),
})

const MAX_BYTES = 8 * 1024
const ID = randomId()
const COOKIE = `sid=${signedCookie(ID)}`

/** A store that answers `get` with whatever the test scripted, as an object or as a string. */
class ScriptedStore implements SessionStore {
  readonly [nativeStore] = true
  next: unknown = null
  sets: Array<[string, SessionRecord]> = []
  async get(): Promise<unknown> {
    return this.next
  }
  async set(id: string, record: SessionRecord): Promise<void> {
    this.sets.push([id, record])
  }
  async destroy(): Promise<void> {}
}

const prototypes = [Object.prototype, Array.prototype, Function.prototype, String.prototype]
const protoShapes = () => prototypes.map((p) => Object.getOwnPropertyNames(p).sort().join(','))
let before: string[]
let raw: RawServer
const store = new ScriptedStore()
const events: SessionEvent[] = []
const errors: unknown[] = []
let fuzzCases = 0

beforeAll(async () => {
  before = protoShapes()
  const app = express()
  app.use(
    session({
      schema,
      secret: SECRET,
      store,
      maxSessionBytes: MAX_BYTES,
      onEvent: (e) => events.push(e),
    }) as never,
  )
  app.get('/probe', (req, res) => {
    const s = (req as unknown as { session: Record<string, unknown> }).session
    res.json({
      data: { ...s },
      methods: ['save', 'destroy', 'regenerate', 'reload', 'touch'].every(
        (m) => typeof s[m] === 'function',
      ),
      id: s.id,
      polluted:
        ({} as Record<string, unknown>).isAdmin ?? ({} as Record<string, unknown>).p ?? null,
    })
  })
  app.use((err: unknown, _req: unknown, res: express.Response, _next: unknown) => {
    errors.push(err)
    res.status(500).json({ code: isSessionError(err) ? err.code : 'other' })
  })
  raw = await listenRaw(app)
})

afterAll(async () => {
  await raw.close()
  console.info(`[issue-7 counts] hostile record fuzz cases run: ${fuzzCases}`)
})

const cookieObject = fc.oneof(
  fc.constant({ originalMaxAge: null, expires: null }),
  fc.constant({ originalMaxAge: 60_000, expires: '2999-01-01T00:00:00.000Z' }),
  fc.jsonValue(),
)
const hostileKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'save',
  'destroy',
  'regenerate',
  'id',
  'touch',
  'toString',
  'hasOwnProperty',
  'user',
  'role',
  'items',
  'flash',
  'isAdmin',
)
/** A record as JSON text, so `__proto__` arrives as an own key (what JSON.parse makes of it). */
const recordJson = fc
  .tuple(
    fc.array(fc.tuple(hostileKey, fc.jsonValue({ maxDepth: 3 })), { maxLength: 8 }),
    cookieObject,
  )
  .map(([pairs, cookie]) => {
    const parts = pairs.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`)
    parts.push(`"cookie":${JSON.stringify(cookie)}`)
    return `{${parts.join(',')}}`
  })
const deepJson = fc
  .tuple(fc.integer({ min: 1_000, max: 20_000 }), fc.constantFrom('user', 'items', 'other'))
  .map(([depth, key]) => {
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`
    return `{"cookie":{"originalMaxAge":null,"expires":null},"${key}":${nested}}`
  })
const hugeArray = fc
  .integer({ min: 2_000, max: 50_000 })
  .map(
    (n) =>
      `{"cookie":{"originalMaxAge":null,"expires":null},"items":[${Array.from({ length: n }, (_, i) => i).join(',')}]}`,
  )
const stored = fc.oneof(
  { weight: 5, arbitrary: recordJson },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: hugeArray },
  { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
)

describe('arbitrary stored records', () => {
  it('reach a handler only as schema-valid data, with members intact and no prototype changed', async () => {
    await fc.assert(
      fc.asyncProperty(stored, fc.boolean(), async (json, asObject) => {
        fuzzCases++
        let value: unknown = json
        if (asObject) {
          try {
            value = JSON.parse(json)
          } catch {
            value = json
          }
        }
        store.next = value
        const response = await rawGet(raw, '/probe', COOKIE)
        // The default policy (`onInvalid: 'fresh'`) never turns bad data into a 500.
        expect(response.status).toBe(200)
        const body = JSON.parse(response.body) as {
          data: unknown
          methods: boolean
          id: string
          polluted: unknown
        }
        expect(seen.safeParse(body.data).success).toBe(true)
        expect(body.methods).toBe(true)
        expect(body.polluted).toBe(null)
        expect(protoShapes()).toEqual(before)
        for (const [, record] of store.sets) {
          expect(Object.getPrototypeOf(record)).toBe(Object.prototype)
        }
      }),
      { numRuns: 250 },
    )
  })

  it('a __proto__ payload neither pollutes nor loads (A12)', async () => {
    store.next = JSON.parse(
      '{"cookie":{"originalMaxAge":null,"expires":null},"user":"bob","__proto__":{"isAdmin":true},"constructor":{"prototype":{"p":1}}}',
    )
    const body = JSON.parse((await rawGet(raw, '/probe', COOKIE)).body)
    expect(body.data).toEqual({ user: 'bob', role: 'user', items: [] })
    expect(body.polluted).toBe(null)
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined()
  })

  it('reserved keys in the record do not shadow the session members (A14)', async () => {
    store.next = {
      cookie: { originalMaxAge: null, expires: null },
      save: 'nope',
      destroy: 1,
      regenerate: null,
      id: 'x',
      touch: 'y',
      user: 'carol',
    }
    const body = JSON.parse((await rawGet(raw, '/probe', COOKIE)).body)
    expect(body.methods).toBe(true)
    expect(body.id).toBe(ID)
    expect(body.data).toEqual({ user: 'carol', role: 'user', items: [] })
  })

  it('wrong types become a fresh session and an invalid_data event (A13)', async () => {
    events.length = 0
    store.next = { cookie: { originalMaxAge: null, expires: null }, user: 42, role: 'root' }
    const body = JSON.parse((await rawGet(raw, '/probe', COOKIE)).body)
    expect(body.data).toEqual({ role: 'user', items: [] })
    expect(body.id).not.toBe(ID)
    expect(events.map((e) => e.type)).toEqual(['invalid_data'])
  })

  it.each([
    ['a JSON string', (text: string) => text],
    ['an object', (text: string) => JSON.parse(text) as unknown],
  ])('a record over maxSessionBytes, as %s, is refused with a too_large report', async (_l, as) => {
    events.length = 0
    const big = `{"cookie":{"originalMaxAge":null,"expires":null},"user":"${'x'.repeat(MAX_BYTES)}"}`
    store.next = as(big)
    const body = JSON.parse((await rawGet(raw, '/probe', COOKIE)).body)
    expect(body.data).toEqual({ role: 'user', items: [] })
    const report = events.find((e) => e.type === 'too_large')
    expect(report).toMatchObject({ type: 'too_large', bytes: big.length })
  })

  it('saving a session over maxSessionBytes fails with ERR_SESSION_TOO_LARGE naming size and limit', async () => {
    const app = express()
    const sets: unknown[] = []
    const local: SessionStore = {
      get: async () => null,
      set: async (id, record) => void sets.push([id, record]),
      destroy: async () => {},
    }
    const reports: SessionEvent[] = []
    app.use(
      session({
        schema,
        secret: SECRET,
        store: local,
        maxSessionBytes: 1_024,
        onEvent: (e) => reports.push(e),
      }) as never,
    )
    app.get('/grow', (req, res) => {
      ;(req as unknown as { session: { user: string } }).session.user = 'y'.repeat(2_000)
      res.end('ok')
    })
    let caught: unknown
    app.use((err: unknown, _req: unknown, res: express.Response, _next: unknown) => {
      caught = err
      res.status(500).end()
    })
    const server = await listenRaw(app)
    try {
      const response = await rawGet(server, '/grow')
      expect(response.status).toBe(500)
      expect(response.setCookies).toEqual([])
      expect(sets).toEqual([])
      expect(caught).toMatchObject({ code: 'ERR_SESSION_TOO_LARGE' })
      expect(String((caught as Error).message)).toMatch(/\b2\d{3} bytes\b.*\b1024\b/)
      expect(reports.map((e) => e.type)).toContain('too_large')
    } finally {
      await server.close()
    }
  })
})
