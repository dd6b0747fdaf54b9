// PgStore's first use of a missing table by several processes at once (a deploy, a cluster start):
// every store creates the table, its indexes and the owner column (issue 12) on demand, and
// concurrent CREATE / ALTER ... IF NOT EXISTS are not safe in PostgreSQL. One lost race, 42710
// (type "owner_sessions" already exists), once answered a login of test/owner/multi-process.test.ts
// with 503 on a loaded machine. Here each store has its own pool (its own backends, as a process
// would), and the statements that create the table are held until every store has sent one, so
// they meet on the server every time, not only when the machine is slow.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newHandle, OWNER_SLOT } from '../../src/owner/meta.js'
import { type PgPoolLike, PgStore } from '../../src/stores/pg.js'
import type { SessionRecord } from '../../src/stores/types.js'
import {
  createPgSchema,
  DATABASE_URL,
  dropPgSchema,
  requirePostgres,
} from '../fixtures/services.js'

/** Stores meeting one missing table, and fresh tables tried. */
const STORES = 8
const ROUNDS = 5
/** Bound on the wait for every store's CREATE TABLE to arrive (a hung store fails the test). */
const GATE_TIMEOUT_MS = 20_000

let admin: pg.Pool
let schema: string | undefined
const pools: pg.Pool[] = []

beforeAll(async () => {
  await requirePostgres()
  admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
  schema = await createPgSchema(admin, 'ts_pg_first_use')
  for (let i = 0; i < STORES; i++)
    pools.push(new pg.Pool({ connectionString: DATABASE_URL, max: 2 }))
})

afterAll(async () => {
  if (schema !== undefined) await dropPgSchema(admin, schema)
  for (const pool of pools) await pool.end()
  await admin?.end()
})

/** Resolves once `count` callers have arrived; rejects after {@link GATE_TIMEOUT_MS}. */
function gate(count: number): () => Promise<void> {
  let arrived = 0
  let open: () => void = () => {}
  let fail: (error: Error) => void = () => {}
  const opened = new Promise<void>((resolve, reject) => {
    open = resolve
    fail = reject
  })
  const timer = setTimeout(
    () => fail(new Error(`${arrived} of ${count} CREATE TABLE statements arrived`)),
    GATE_TIMEOUT_MS,
  )
  return () => {
    if (++arrived === count) {
      clearTimeout(timer)
      open()
    }
    return opened
  }
}

/** `pool` as a PgStore sees it, noting every failed DDL statement and holding CREATE TABLE at `arrive`. */
function watchedPool(pool: pg.Pool, arrive: () => Promise<void>, failed: string[]): PgPoolLike {
  return {
    async query(text: string, values?: unknown[]) {
      const ddl = /\b(CREATE|ALTER) (TABLE|INDEX)\b/.test(text)
      if (/\bCREATE TABLE\b/.test(text)) await arrive()
      try {
        return await pool.query(text, values)
      } catch (error) {
        if (ddl) failed.push(`${(error as { code?: string }).code}: ${(error as Error).message}`)
        throw error
      }
    },
  } as unknown as PgPoolLike
}

function ownedRecord(owner: string): SessionRecord {
  const now = Date.now()
  return {
    cookie: {
      originalMaxAge: 60_000,
      expires: new Date(now + 60_000).toISOString(),
      httpOnly: true,
      path: '/',
    },
    [OWNER_SLOT]: { owner, handle: newHandle(), createdAt: now, activeAt: now },
  } as SessionRecord
}

describe('PgStore: several stores meeting a missing table at once', () => {
  it(`all ${STORES} create their session and index it, in ${ROUNDS} rounds; no DDL statement fails (they take turns)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const failed: string[] = []
      const arrive = gate(STORES)
      const stores = pools.map(
        (pool) =>
          new PgStore({
            pool: watchedPool(pool, arrive, failed),
            schemaName: schema,
            tableName: `owner_sessions_${round}`,
            pruneIntervalMs: false,
          }),
      )
      const owner = `user-${round}`
      const ids = stores.map((_, i) => `first-use-${round}-${i}`)
      const created = await Promise.allSettled(
        stores.map((store, i) => store.create(ids[i]!, ownedRecord(owner))),
      )
      expect(
        created.map((result) =>
          result.status === 'fulfilled' ? result.value : String(result.reason),
        ),
      ).toEqual(ids.map(() => true))
      // A lost race that the store skips is still a statement that failed: with the stores taking
      // turns there is none.
      expect(failed, `round ${round}`).toEqual([])
      expect([...(await stores[0]!.indexedIds(owner))].sort()).toEqual([...ids].sort())
      for (const store of stores) store.close()
    }
  })
})
