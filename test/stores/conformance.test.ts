import connectPgSimple from 'connect-pg-simple'
import { RedisStore } from 'connect-redis'
import ExpressSession from 'express-session'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toSessionStore } from '../../src/stores/adapt.js'
import { runStoreConformance, storeConformance } from '../../src/stores/conformance.js'
import { MemoryStore } from '../../src/stores/memory.js'
import { PgStore } from '../../src/stores/pg.js'
import { RedisStore as NativeRedisStore } from '../../src/stores/redis.js'
import { Store } from '../../src/stores/store.js'
import type { SessionStore } from '../../src/stores/types.js'
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

const TIMEOUT_MS = 5000

/** Register every conformance case against the store `get()` returns once `beforeAll` ran. */
function conformance(get: () => SessionStore): void {
  for (const c of storeConformance) it(c.name, () => c.run(get()))
}

describe('storeConformance on MemoryStore', () => {
  const memory = new MemoryStore()
  afterAll(() => memory.close())
  describe('called natively', () => conformance(() => memory))
  describe('through toSessionStore', () => {
    const adapted = toSessionStore(memory, { timeoutMs: TIMEOUT_MS })
    conformance(() => adapted)
  })
})

describe("storeConformance on express-session's MemoryStore through toSessionStore", () => {
  const adapted = toSessionStore(new ExpressSession.MemoryStore(), { timeoutMs: TIMEOUT_MS })
  conformance(() => adapted)
})

describe('storeConformance on connect-redis 9 + redis through toSessionStore', () => {
  const prefix = `${uniqueName('ts-conformance')}:`
  let client: Awaited<ReturnType<typeof connectRedis>>
  let store: SessionStore

  beforeAll(async () => {
    await requireRedis()
    client = await connectRedis(REDIS_URL)
    store = toSessionStore(new RedisStore({ client, prefix }), { timeoutMs: TIMEOUT_MS })
  })

  afterAll(async () => {
    if (client === undefined) return
    const keys = await client.keys(`${prefix}*`)
    if (keys.length > 0) await client.del(keys)
    client.destroy()
  })

  conformance(() => store)

  it('leaves no key behind and stores under its own prefix only', async () => {
    expect(await client.keys(`${prefix}*`)).toEqual([])
  })
})

describe('storeConformance on the native RedisStore + redis', () => {
  const prefix = `${uniqueName('ts-conformance-native')}:`
  let client: Awaited<ReturnType<typeof connectRedis>>
  let native: NativeRedisStore
  let adapted: SessionStore

  beforeAll(async () => {
    await requireRedis()
    client = await connectRedis(REDIS_URL)
    native = new NativeRedisStore({ client, prefix })
    adapted = toSessionStore(native, { timeoutMs: TIMEOUT_MS })
  })

  afterAll(async () => {
    if (client === undefined) return
    const keys = await client.keys(`${prefix}*`)
    if (keys.length > 0) await client.del(keys)
    client.destroy()
  })

  describe('called natively', () => conformance(() => native))
  describe('through toSessionStore', () => conformance(() => adapted))

  it('leaves no key behind and stores under its own prefix only', async () => {
    expect(await client.keys(`${prefix}*`)).toEqual([])
  })
})

describe('storeConformance on connect-pg-simple 10 + pg (with our Store base) through toSessionStore', () => {
  let pool: pg.Pool
  let schema: string | undefined
  let pgStore: { close(): Promise<void> }
  let store: SessionStore
  const tableName = uniqueName('session')

  beforeAll(async () => {
    await requirePostgres()
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
    schema = await createPgSchema(pool)
    // connect-pg-simple reads `.Store` from what it is given: our base class must be enough.
    const PgStore = connectPgSimple({ Store } as unknown as Parameters<typeof connectPgSimple>[0])
    const native = new PgStore({
      pool,
      schemaName: schema,
      tableName,
      createTableIfMissing: true,
      pruneSessionInterval: false,
    })
    expect(native).toBeInstanceOf(Store)
    pgStore = native as unknown as { close(): Promise<void> }
    store = toSessionStore(native, { timeoutMs: TIMEOUT_MS })
  })

  afterAll(async () => {
    await pgStore?.close()
    if (schema !== undefined) await dropPgSchema(pool, schema)
    await pool?.end()
  })

  conformance(() => store)

  it('wrote to its own table, which is empty after the suite', async () => {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${schema}"."${tableName}"`)
    expect(rows[0]).toEqual({ n: 0 })
  })
})

describe('storeConformance on the native PgStore + pg', () => {
  let pool: pg.Pool
  let schema: string | undefined
  let native: PgStore
  let adapted: SessionStore
  const tableName = uniqueName('session')

  beforeAll(async () => {
    await requirePostgres()
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
    schema = await createPgSchema(pool)
    native = new PgStore({ pool, schemaName: schema, tableName, pruneIntervalMs: false })
    adapted = toSessionStore(native, { timeoutMs: TIMEOUT_MS })
  })

  afterAll(async () => {
    native?.close()
    if (schema !== undefined) await dropPgSchema(pool, schema)
    await pool?.end()
  })

  describe('called natively', () => conformance(() => native))
  describe('through toSessionStore', () => conformance(() => adapted))

  it('created its table on demand, which is empty after the suite', async () => {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${schema}"."${tableName}"`)
    expect(rows[0]).toEqual({ n: 0 })
  })
})

describe('storeConformance itself', () => {
  it('reports a store that returns expired records, resurrects on patch, and pollutes', async () => {
    // A deliberately broken store: a plain object map, no expiry, patch creates, set by assignment.
    const data: Record<string, unknown> = {}
    const broken: SessionStore = {
      get: async (id) => data[id],
      set: async (id, record) => {
        data[id] = record
      },
      destroy: async (id) => {
        delete data[id]
      },
      touch: async (id, record) => {
        data[id] = record
      },
      patch: async (id, patch) => {
        const target = (data[id] ?? {}) as Record<string, unknown>
        for (const [k, v] of Object.entries(patch.set)) target[k] = v
        data[id] = target
        return true
      },
    }
    const results = await runStoreConformance(broken)
    const failed = results.filter((r) => r.error !== undefined).map((r) => r.name)
    expect(failed).toEqual(
      expect.arrayContaining([
        'a record whose cookie.expires is in the past is never returned',
        'touch of an unknown id does not create a record',
        'a loaded object is a copy: changing it does not change the store',
        'patch of an unknown id resolves false and creates nothing',
        'patch after destroy resolves false and does not resurrect the session',
      ]),
    )
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('passes every case on MemoryStore', async () => {
    const memory = new MemoryStore({ checkPeriodMs: 0 })
    const results = await runStoreConformance(memory)
    expect(results.filter((r) => r.error !== undefined)).toEqual([])
    expect(results).toHaveLength(storeConformance.length)
  })
})
