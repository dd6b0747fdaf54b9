// Issue 10, switching stores on a live app: connect-redis 9 -> RedisStore -> connect-redis 9, and
// connect-pg-simple 10 -> PgStore -> connect-pg-simple 10, over the same keys / table. At every
// step the browser stays signed in, sees every earlier change, and the store's expiry is the
// cookie's.
import connectPgSimple from 'connect-pg-simple'
import { RedisStore as ConnectRedisStore } from 'connect-redis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Store, type StoreOption } from '../../src/index.js'
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
import type { CookieClient, TestServer } from '../helpers/http.js'
import {
  clientFor,
  MAX_AGE_MS,
  sessionIdOf,
  shareCookies,
  snapshotOf,
  startApp,
} from './http-support.js'

// The store's expiry against the stored cookie's: connect-redis rounds its TTL up to a second.
const EXPIRY_MARGIN_MS = 2_000

const servers: TestServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

interface Step {
  readonly name: string
  readonly store: () => StoreOption
}

/**
 * Walk one browser through `steps`, one app server per store: at each step add a cart item, then
 * check that everything written before is there and that the store expires the record when its
 * cookie does.
 */
async function walk(
  steps: readonly Step[],
  storedExpiry: (id: string) => Promise<{ cookieExpires: number; storeExpires: number }>,
): Promise<void> {
  let browser: CookieClient | undefined
  const skus: string[] = []
  for (const [i, step] of steps.entries()) {
    const server = await startApp(step.store())
    servers.push(server)
    const next = clientFor(server)
    if (browser === undefined) {
      expect((await next.post('/login?user=ada')).status).toBe(200)
    } else {
      shareCookies(browser, next)
    }
    browser = next
    const sku = `item-${i}`
    skus.push(sku)
    const added = await browser.post(`/cart?sku=${sku}`)
    expect(added.status, `${step.name}: ${added.body}`).toBe(200)
    const seen = snapshotOf((await browser.get('/data')).body).data
    expect(seen.userId, `signed in after moving to ${step.name}`).toBe('ada')
    expect(seen.cart.map((item) => item.sku)).toEqual(skus)
    const { cookieExpires, storeExpires } = await storedExpiry(sessionIdOf(browser))
    expect(Math.abs(storeExpires - cookieExpires), `${step.name}: store expiry`).toBeLessThan(
      EXPIRY_MARGIN_MS,
    )
    expect(cookieExpires - Date.now()).toBeGreaterThan(MAX_AGE_MS - 60_000)
  }
}

describe('connect-redis 9 -> RedisStore -> connect-redis 9', () => {
  const prefix = `${uniqueName('ts-switch')}:`
  let redis: Awaited<ReturnType<typeof connectRedis>>

  beforeAll(async () => {
    await requireRedis()
    redis = await connectRedis(REDIS_URL)
  })
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(keys)
    redis.destroy()
  })

  it('keeps the user signed in with every change, and the TTL at the cookie expiry', async () => {
    const connect = (): StoreOption =>
      new ConnectRedisStore({ client: redis, prefix }) as unknown as StoreOption
    await walk(
      [
        { name: 'connect-redis', store: connect },
        { name: 'RedisStore', store: () => new RedisStore({ client: redis, prefix }) },
        { name: 'connect-redis again', store: connect },
        { name: 'RedisStore again', store: () => new RedisStore({ client: redis, prefix }) },
      ],
      async (id) => {
        const stored = JSON.parse((await redis.get(prefix + id))!) as {
          cookie: { expires: string }
        }
        return {
          cookieExpires: Date.parse(stored.cookie.expires),
          storeExpires: Date.now() + (await redis.pTTL(prefix + id)),
        }
      },
    )
  })
})

describe('connect-pg-simple 10 -> PgStore -> connect-pg-simple 10', () => {
  let pool: pg.Pool
  let schema: string | undefined
  const stores: Array<{ close(): unknown }> = []

  beforeAll(async () => {
    await requirePostgres()
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
    schema = await createPgSchema(pool, 'ts_switch')
  })
  afterAll(async () => {
    for (const store of stores) await store.close()
    if (schema !== undefined) await dropPgSchema(pool, schema)
    await pool?.end()
  })

  const PgSimple = connectPgSimple({ Store } as unknown as Parameters<typeof connectPgSimple>[0])
  const simple = (tableName: string) => (): StoreOption => {
    const store = new PgSimple({
      pool,
      schemaName: schema,
      tableName,
      createTableIfMissing: true,
      pruneSessionInterval: false,
    })
    stores.push(store as unknown as { close(): unknown })
    return store as unknown as StoreOption
  }
  const native = (tableName: string) => (): StoreOption => {
    const store = new PgStore({ pool, schemaName: schema, tableName, pruneIntervalMs: false })
    stores.push(store)
    return store
  }
  const expiryOf = (tableName: string) => async (id: string) => {
    const { rows } = await pool.query(
      `SELECT sess::text AS sess, extract(epoch FROM expire::timestamptz) * 1000 AS at
       FROM "${schema}"."${tableName}" WHERE sid = $1`,
      [id],
    )
    const stored = JSON.parse(rows[0].sess as string) as { cookie: { expires: string } }
    return { cookieExpires: Date.parse(stored.cookie.expires), storeExpires: Number(rows[0].at) }
  }

  it("on connect-pg-simple's own table: signed in with every change, expire at the cookie expiry", async () => {
    await walk(
      [
        { name: 'connect-pg-simple', store: simple('session') },
        { name: 'PgStore', store: native('session') },
        { name: 'connect-pg-simple again', store: simple('session') },
        { name: 'PgStore again', store: native('session') },
      ],
      expiryOf('session'),
    )
  })

  it('on a table PgStore created: connect-pg-simple reads and writes it the same way', async () => {
    await walk(
      [
        { name: 'PgStore', store: native('created_by_pgstore') },
        { name: 'connect-pg-simple', store: simple('created_by_pgstore') },
        { name: 'PgStore again', store: native('created_by_pgstore') },
      ],
      expiryOf('created_by_pgstore'),
    )
  })
})
