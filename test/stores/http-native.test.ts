// Real Express 5 apps over the native stores (typed-session/redis on the machine's Redis,
// typed-session/pg on its PostgreSQL): expiry right in the store, touch moves the stored cookie,
// records planted straight into the store (junk, too large, too deep, wrong shape) refused before
// a handler sees them, the too-large one before it is parsed.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SessionEvent } from '../../src/index.js'
import { PgStore } from '../../src/stores/pg.js'
import { RedisStore } from '../../src/stores/redis.js'
import {
  connectRedis,
  createPgSchema,
  DATABASE_URL,
  dropPgSchema,
  REDIS_URL,
  requirePostgres,
  requireRedis,
  uniqueName,
} from '../fixtures/services.js'
import type { TestServer } from '../helpers/http.js'
import {
  clientFor,
  FRESH,
  MAX_AGE_MS,
  plantedCookie,
  sessionIdOf,
  snapshotOf,
  startApp,
} from './http-support.js'

const MAX_SESSION_BYTES = 16 * 1024
// Expiry is compared with what the store holds; the margin covers the requests' own duration.
const EXPIRY_MARGIN_MS = 60_000

/** What a test needs to know of one native store: plant a value, read its expiry. */
interface Backend {
  readonly name: string
  readonly store: () => RedisStore | PgStore
  plant(id: string, value: string): Promise<void>
  raw(id: string): Promise<string | null>
  /** When the store will drop the record, in ms since the epoch (`undefined`: no record). */
  expiresAt(id: string): Promise<number | undefined>
  /** Whether the store accepts a value that is not JSON at all (PostgreSQL's json column does not). */
  readonly acceptsJunk: boolean
}

type RedisClient = Awaited<ReturnType<typeof connectRedis>>
let redis: RedisClient
let pool: pg.Pool
let schema: string | undefined
const prefix = `${uniqueName('ts-native-http')}:`
const tableName = uniqueName('session')
const servers: TestServer[] = []
const pgStores: PgStore[] = []

beforeAll(async () => {
  await requireRedis()
  await requirePostgres()
  redis = await connectRedis(REDIS_URL)
  pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
  schema = await createPgSchema(pool, 'ts_native_http')
})

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
  for (const s of pgStores) s.close()
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(keys)
  redis.destroy()
  if (schema !== undefined) await dropPgSchema(pool, schema)
  await pool?.end()
})

const backends: Backend[] = [
  {
    name: 'RedisStore',
    store: () => new RedisStore({ client: redis, prefix }),
    async plant(id, value) {
      await redis.set(prefix + id, value, { expiration: { type: 'EX', value: 600 } })
    },
    raw: (id) => redis.get(prefix + id),
    async expiresAt(id) {
      const ttl = await redis.pTTL(prefix + id)
      return ttl < 0 ? undefined : Date.now() + ttl
    },
    acceptsJunk: true,
  },
  {
    name: 'PgStore',
    store: () => {
      const store = new PgStore({ pool, schemaName: schema, tableName, pruneIntervalMs: false })
      pgStores.push(store)
      return store
    },
    async plant(id, value) {
      const { rowCount } = await pool.query(
        `UPDATE "${schema}"."${tableName}" SET sess = $1::json WHERE sid = $2`,
        [value, id],
      )
      expect(rowCount).toBe(1)
    },
    async raw(id) {
      const { rows } = await pool.query(
        `SELECT sess::text AS sess FROM "${schema}"."${tableName}" WHERE sid = $1`,
        [id],
      )
      return (rows[0]?.sess as string | undefined) ?? null
    },
    async expiresAt(id) {
      const { rows } = await pool.query(
        `SELECT extract(epoch FROM expire::timestamptz) * 1000 AS at FROM "${schema}"."${tableName}" WHERE sid = $1`,
        [id],
      )
      return rows[0] === undefined ? undefined : Number(rows[0].at)
    },
    acceptsJunk: false,
  },
]

async function app(backend: Backend, options: { rolling?: boolean } = {}) {
  const events: SessionEvent[] = []
  const server = await startApp(backend.store(), {
    ...options,
    maxSessionBytes: MAX_SESSION_BYTES,
    onEvent: (event) => events.push(event),
  })
  servers.push(server)
  return { server, events }
}

for (const backend of backends) {
  describe(`typed-session over the native ${backend.name} (HTTP)`, () => {
    it('stores the express-session JSON and expires it at cookie.expires', async () => {
      const { server } = await app(backend)
      const browser = clientFor(server)
      expect((await browser.post('/login?user=ada')).status).toBe(200)
      const id = sessionIdOf(browser)
      const stored = JSON.parse((await backend.raw(id))!) as {
        userId: string
        cookie: { expires: string; originalMaxAge: number }
      }
      expect(stored.userId).toBe('ada')
      expect(stored.cookie.originalMaxAge).toBe(MAX_AGE_MS)
      const expires = Date.parse(stored.cookie.expires)
      const storeExpiry = await backend.expiresAt(id)
      expect(storeExpiry).toBeDefined()
      expect(Math.abs(storeExpiry! - expires)).toBeLessThan(EXPIRY_MARGIN_MS)
      expect(expires - Date.now()).toBeGreaterThan(MAX_AGE_MS - EXPIRY_MARGIN_MS)
    })

    it('a change patches the stored record: other keys and the cookie stay right', async () => {
      const { server } = await app(backend)
      const browser = clientFor(server)
      await browser.post('/login?user=grace')
      await browser.post('/cart?sku=lamp')
      await browser.post('/views')
      const id = sessionIdOf(browser)
      const stored = JSON.parse((await backend.raw(id))!) as Record<string, unknown>
      expect(stored).toMatchObject({ userId: 'grace', views: 2, cart: [{ sku: 'lamp', qty: 1 }] })
      expect(snapshotOf((await browser.get('/data')).body).data).toEqual({
        userId: 'grace',
        views: 2,
        role: 'user',
        cart: [{ sku: 'lamp', qty: 1 }],
      })
    })

    it('with rolling, a read-only request touches: the stored cookie and expiry move together', async () => {
      const { server } = await app(backend, { rolling: true })
      const browser = clientFor(server)
      await browser.post('/login?user=ada')
      const id = sessionIdOf(browser)
      // Age the record: an expiry 5 minutes out, written straight into the store.
      const aged = JSON.parse((await backend.raw(id))!) as { cookie: { expires: string } }
      aged.cookie.expires = new Date(Date.now() + 300_000).toISOString()
      await backend.plant(id, JSON.stringify(aged))
      expect((await browser.get('/data')).status).toBe(200)
      const after = JSON.parse((await backend.raw(id))!) as {
        userId: string
        cookie: { expires: string }
      }
      expect(after.userId).toBe('ada')
      const expires = Date.parse(after.cookie.expires)
      expect(expires - Date.now()).toBeGreaterThan(MAX_AGE_MS - EXPIRY_MARGIN_MS)
      const storeExpiry = await backend.expiresAt(id)
      expect(Math.abs(storeExpiry! - expires)).toBeLessThan(EXPIRY_MARGIN_MS)
    })

    describe('planted records are refused before a handler sees them (fresh session)', () => {
      const deep = `{"userId":"mallory","cart":${'['.repeat(5000)}${']'.repeat(5000)},"cookie":${JSON.stringify(plantedCookie())}}`
      const planted: Record<string, () => string> = {
        'wrong types': () =>
          JSON.stringify({ userId: 42, views: 'many', role: 'root', cookie: plantedCookie() }),
        'too deep': () => deep,
        'a JSON array': () => '[1,2,3]',
        'no cookie': () => JSON.stringify({ userId: 'mallory', views: 1 }),
      }
      if (backend.acceptsJunk) {
        planted['junk JSON'] = () => '{"userId": "mallory", "cookie": {'
        planted['not JSON at all'] = () => '\u0000\u0001binary'
      }
      for (const [name, value] of Object.entries(planted)) {
        it(`${name}: the handler sees a fresh, valid session`, async () => {
          const { server } = await app(backend)
          const browser = clientFor(server)
          await browser.post('/login?user=victim')
          await backend.plant(sessionIdOf(browser), value())
          const read = await browser.get('/data')
          expect(read.status).toBe(200)
          const seen = snapshotOf(read.body)
          expect(seen.data).toEqual(FRESH)
          expect(seen.valid).toBe(true)
          expect(seen.prototypePolluted).toBe(false)
        })
      }

      it('too large: refused by its size, before JSON.parse, with a too_large event', async () => {
        const { server, events } = await app(backend)
        const browser = clientFor(server)
        await browser.post('/login?user=victim')
        const id = sessionIdOf(browser)
        const huge = JSON.stringify({
          userId: 'mallory',
          padding: 'x'.repeat(MAX_SESSION_BYTES),
          cookie: plantedCookie(),
        })
        await backend.plant(id, huge)
        const parse = JSON.parse
        let parsedHuge = false
        JSON.parse = ((text: string, reviver?: Parameters<typeof parse>[1]) => {
          if (typeof text === 'string' && text.length > MAX_SESSION_BYTES) parsedHuge = true
          return parse(text, reviver)
        }) as typeof JSON.parse
        let read: Awaited<ReturnType<typeof browser.get>>
        try {
          read = await browser.get('/data')
        } finally {
          JSON.parse = parse
        }
        expect(read.status).toBe(200)
        expect(snapshotOf(read.body).data).toEqual(FRESH)
        expect(parsedHuge).toBe(false)
        expect(events.map((e) => e.type)).toContain('too_large')
      })
    })

    it('logout deletes the record; the old cookie then opens a fresh session', async () => {
      const { server } = await app(backend)
      const browser = clientFor(server)
      await browser.post('/login?user=ada')
      const id = sessionIdOf(browser)
      const cookie = browser.cookieHeader()
      expect((await browser.post('/logout')).status).toBe(200)
      expect(await backend.raw(id)).toBeNull()
      const replay = await browser.request('/data', { rawCookie: cookie })
      expect(snapshotOf(replay.body).data).toEqual(FRESH)
      expect(await backend.raw(id)).toBeNull()
    })
  })
}

describe('RedisStore editing a record written by another serializer', () => {
  it('patches pretty-printed JSON with escapes and brackets in strings, keeping every value', async () => {
    const store = new RedisStore({ client: redis, prefix })
    const id = uniqueName('pretty')
    const record = {
      'we"ird': 'a } ] { [ , : \\" \u00e9',
      list: [[], {}, [1.5e-7, 0.30000000000000004]],
      nested: { 'k\\': { x: '"' } },
      cookie: plantedCookie(),
    }
    await redis.set(prefix + id, JSON.stringify(record, null, 2), {
      expiration: { type: 'EX', value: 600 },
    })
    const cookie = plantedCookie()
    expect(
      await store.patch(id, { set: { added: { deep: [[]] } }, unset: ['nested'], cookie }),
    ).toBe(true)
    const { nested: _nested, ...kept } = record
    expect(JSON.parse((await redis.get(prefix + id))!)).toEqual({
      ...kept,
      added: { deep: [[]] },
      cookie,
    })
  })

  it('refuses to patch a value that is not a JSON object, and leaves it as it is', async () => {
    const store = new RedisStore({ client: redis, prefix })
    for (const junk of ['{"a":', '[1,2]', 'plain text', '"a string"']) {
      const id = uniqueName('junk')
      await redis.set(prefix + id, junk, { expiration: { type: 'EX', value: 600 } })
      await expect(
        store.patch(id, { set: { a: 1 }, unset: [], cookie: plantedCookie() }),
      ).rejects.toThrow(/not a JSON object/)
      expect(await redis.get(prefix + id)).toBe(junk)
    }
  })
})
