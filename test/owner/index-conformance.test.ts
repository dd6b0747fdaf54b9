// The index cases of the conformance suite (issue 12) on every store that keeps an index.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  indexConformance,
  MemoryStore,
  SessionError,
  type SessionStore,
  type StoreOption,
  session,
  toSessionStore,
} from '../../src/index.js'
import { PgStore } from '../../src/stores/pg.js'
import { RedisStore } from '../../src/stores/redis.js'
import {
  connectRedis,
  createPgSchema,
  DATABASE_URL,
  dropPgSchema,
  requirePostgres,
  requireRedis,
  uniqueName,
} from '../fixtures/services.js'
import { otherProcessView } from './support.js'

const TIMEOUT_MS = 5000

function conformance(get: () => SessionStore): void {
  for (const c of indexConformance) it(c.name, () => c.run(get()))
}

describe('indexConformance on MemoryStore', () => {
  const memory = new MemoryStore()
  afterAll(() => memory.close())
  describe('called natively', () => conformance(() => memory))
  describe('through toSessionStore', () => {
    const adapted = toSessionStore(memory, { timeoutMs: TIMEOUT_MS })
    conformance(() => adapted)
  })
  describe('as a branded native store through the calling adapter', () => {
    const adapted = toSessionStore(otherProcessView(memory), { timeoutMs: TIMEOUT_MS })
    it('keeps indexedIds', () => expect(adapted.indexedIds).toBeTypeOf('function'))
    conformance(() => adapted)
  })
})

describe('a store that has an index but cannot use it', () => {
  it('answers listSessions with its ERR_SESSION_NO_INDEX, not a store failure', async () => {
    const memory = new MemoryStore()
    const appSession = session({
      schema: z.object({ user: z.string().optional() }),
      secret: 'index-conformance-secret-0123456789abcdef',
      store: {
        ...(otherProcessView(memory) as object),
        // What PgStore does on a table without its owner column.
        indexedIds: () =>
          Promise.reject(new SessionError('ERR_SESSION_NO_INDEX', 'no owner column')),
      } as unknown as StoreOption,
      owner: (data) => data.user,
    })
    await expect(appSession.listSessions('nobody')).rejects.toMatchObject({
      code: 'ERR_SESSION_NO_INDEX',
      message: 'no owner column',
    })
  })
})

describe('indexConformance on the native RedisStore', () => {
  const prefix = `${uniqueName('ts-owner-conf')}:`
  let client: Awaited<ReturnType<typeof connectRedis>>
  let store: SessionStore
  beforeAll(async () => {
    await requireRedis()
    client = await connectRedis()
    store = toSessionStore(new RedisStore({ client, prefix }), { timeoutMs: TIMEOUT_MS })
  })
  afterAll(async () => {
    if (client === undefined) return
    for (const pattern of [`${prefix}*`, `owner-index:${prefix}*`]) {
      const keys = await client.keys(pattern)
      if (keys.length > 0) await client.del(keys)
    }
    client.destroy()
  })
  conformance(() => store)

  it('keeps an owner set alive as long as its longest session, and no longer', async () => {
    const owner = uniqueName('owner')
    const record = (ms: number) => ({
      cookie: { originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString() },
      $session: { owner, handle: 'h'.repeat(22), createdAt: 1, activeAt: 1 },
    })
    await store.set('long-lived', record(600_000))
    await store.set('short-lived', record(60_000))
    const ttl = await client.pTTL(`owner-index:${prefix}${owner}`)
    expect(ttl).toBeGreaterThan(500_000)
    expect(ttl).toBeLessThanOrEqual(600_000)
  })
})

describe('indexConformance on the native PgStore', () => {
  let pool: pg.Pool
  let schema: string | undefined
  let store: SessionStore
  beforeAll(async () => {
    await requirePostgres()
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
    schema = await createPgSchema(pool, 'ts_owner_conf')
    store = toSessionStore(
      new PgStore({ pool, schemaName: schema, tableName: 'sessions', pruneIntervalMs: false }),
      { timeoutMs: TIMEOUT_MS },
    )
  })
  afterAll(async () => {
    if (schema !== undefined) await dropPgSchema(pool, schema)
    await pool?.end()
  })
  conformance(() => store)

  it('adds a nullable, indexed owner column to a table connect-pg-simple made', async () => {
    await pool.query(
      `CREATE TABLE "${schema}"."legacy" (sid varchar NOT NULL PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)`,
    )
    const legacy = new PgStore({
      pool,
      schemaName: schema,
      tableName: 'legacy',
      pruneIntervalMs: false,
    })
    expect(await legacy.indexedIds('nobody')).toEqual([])
    const { rows } = await pool.query(
      `SELECT is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'legacy' AND column_name = 'owner'`,
      [schema],
    )
    expect(rows).toEqual([{ is_nullable: 'YES' }])
    const indexes = await pool.query(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'legacy'`,
      [schema],
    )
    expect(indexes.rows.map((row) => row.indexdef).join('\n')).toMatch(
      /\(owner\) WHERE \(owner IS NOT NULL\)/,
    )
  })

  it('fails listing clearly on a table without the column it may not add', async () => {
    await pool.query(
      `CREATE TABLE "${schema}"."frozen" (sid varchar NOT NULL PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)`,
    )
    const frozen = new PgStore({
      pool,
      schemaName: schema,
      tableName: 'frozen',
      createTableIfMissing: false,
      pruneIntervalMs: false,
    })
    await expect(frozen.indexedIds('nobody')).rejects.toMatchObject({
      code: 'ERR_SESSION_NO_INDEX',
    })
    // The middleware's answer too, through the store adapter.
    const appSession = session({
      schema: z.object({ user: z.string().optional() }),
      secret: 'index-conformance-secret-0123456789abcdef',
      store: frozen,
      owner: (data) => data.user,
    })
    await expect(appSession.listSessions('nobody')).rejects.toMatchObject({
      code: 'ERR_SESSION_NO_INDEX',
    })
    // ... and still stores sessions.
    const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() }
    await frozen.set('frozen-1', { cookie, views: 1 })
    expect(JSON.parse(String(await frozen.get('frozen-1')))).toMatchObject({ views: 1 })
  })
})

describe('indexConformance cases', () => {
  it('fail a store that forgets to index', async () => {
    const memory = new MemoryStore()
    const forgetful: SessionStore = {
      get: (id) => memory.get(id),
      set: (id, record) => memory.set(id, { ...record, $session: undefined }),
      destroy: (id) => memory.destroy(id),
      patch: (id, patch) => memory.patch(id, patch),
      indexedIds: (owner) => memory.indexedIds(owner),
    }
    const failures = await Promise.allSettled(indexConformance.map((c) => c.run(forgetful)))
    expect(failures.filter((result) => result.status === 'rejected').length).toBeGreaterThan(2)
  })
})
