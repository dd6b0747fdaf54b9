// A real Express 5 app with session({ schema, secret, store }) over connect-pg-simple 10 (given
// typed-session's own Store base) and the machine's PostgreSQL, in a schema of this run.
import connectPgSimple from 'connect-pg-simple'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Store } from '../../src/index.js'
import {
  createPgSchema,
  DATABASE_URL,
  dropPgSchema,
  requirePostgres,
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

let pool: pg.Pool
let schema: string | undefined
let table: string
let server: TestServer | undefined
let pgStore: { close(): Promise<void> } | undefined

beforeAll(async () => {
  await requirePostgres()
  pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
  schema = await createPgSchema(pool, 'ts_http')
  const tableName = uniqueName('session')
  table = `"${schema}"."${tableName}"`
  const PgStore = connectPgSimple({ Store } as unknown as Parameters<typeof connectPgSimple>[0])
  const store = new PgStore({
    pool,
    schemaName: schema,
    tableName,
    createTableIfMissing: true,
    pruneSessionInterval: false,
  })
  pgStore = store as unknown as { close(): Promise<void> }
  server = await startApp(store)
})

afterAll(async () => {
  await server?.close()
  await pgStore?.close()
  if (schema !== undefined) await dropPgSchema(pool, schema)
  await pool?.end()
})

async function plant(id: string, json: string): Promise<void> {
  const { rowCount } = await pool.query(`UPDATE ${table} SET sess = $1::json WHERE sid = $2`, [
    json,
    id,
  ])
  expect(rowCount).toBe(1)
}

describe('typed-session over connect-pg-simple 10 (HTTP)', () => {
  it('saves the session with its expiry and loads it back', async () => {
    const browser = clientFor(server!)
    await browser.post('/login?user=edsger')
    const { rows } = await pool.query(`SELECT sess, expire FROM ${table} WHERE sid = $1`, [
      sessionIdOf(browser),
    ])
    expect(rows).toHaveLength(1)
    expect(rows[0].sess).toMatchObject({ userId: 'edsger', views: 1 })
    const expire = (rows[0].expire as Date).getTime()
    // The expire column is a `timestamp` in the server's zone; compare it with the cookie loosely.
    expect(
      Math.abs(Date.parse(rows[0].sess.cookie.expires) - (Date.now() + MAX_AGE_MS)),
    ).toBeLessThan(5000)
    expect(Number.isFinite(expire)).toBe(true)
    const read = await browser.get('/data')
    expect(snapshotOf(read.body).data).toMatchObject({ userId: 'edsger', views: 1 })
  })

  describe('records planted directly in PostgreSQL follow the validation policy (fresh session)', () => {
    // The `sess` column is `json`: PostgreSQL itself refuses text that is not JSON, so junk JSON
    // cannot be planted here (it is covered on Redis); JSON of every wrong shape can.
    const planted: Record<string, () => string> = {
      'wrong types': () =>
        JSON.stringify({ userId: 42, views: 'many', role: 'root', cookie: plantedCookie() }),
      'an old shape': () =>
        JSON.stringify({
          user: { id: 'u1' },
          cart: { sku: 'a', qty: '1' },
          cookie: plantedCookie(),
        }),
      'missing cookie': () => JSON.stringify({ userId: 'mallory' }),
      'a JSON null': () => 'null',
      'a JSON array': () => '[{"userId":"mallory"}]',
      'a JSON number': () => '42',
      'a wrong nested type': () =>
        JSON.stringify({ userId: 'mallory', cart: [{ sku: 7, qty: 1 }], cookie: plantedCookie() }),
    }

    for (const [name, value] of Object.entries(planted)) {
      it(`${name}: the handler sees a fresh, valid session`, async () => {
        const browser = clientFor(server!)
        await browser.post('/login?user=victim')
        await plant(sessionIdOf(browser), value())
        const read = await browser.get('/data')
        expect(read.status).toBe(200)
        const seen = snapshotOf(read.body)
        expect(seen.data).toEqual(FRESH)
        expect(seen.valid).toBe(true)
        expect(seen.prototypePolluted).toBe(false)
      })
    }

    it('__proto__ keys: never applied as a prototype, never seen by the handler', async () => {
      const browser = clientFor(server!)
      await browser.post('/login?user=victim')
      await plant(
        sessionIdOf(browser),
        `{"__proto__":{"role":"admin","userId":"root","polluted":true},"views":3,"cookie":${JSON.stringify(plantedCookie())}}`,
      )
      const read = await browser.get('/data')
      expect(read.status).toBe(200)
      const seen = snapshotOf(read.body)
      expect(seen.data).toEqual({ ...FRESH, views: 3 })
      expect(seen.keys).not.toContain('__proto__')
      expect(seen.prototypePolluted).toBe(false)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })
  })

  it('logout deletes the row, and the old cookie then gets a fresh session', async () => {
    const browser = clientFor(server!)
    await browser.post('/login?user=barbara')
    const id = sessionIdOf(browser)
    const oldCookie = browser.cookieHeader()
    expect((await browser.post('/logout')).status).toBe(200)
    const { rowCount } = await pool.query(`SELECT 1 FROM ${table} WHERE sid = $1`, [id])
    expect(rowCount).toBe(0)
    const replay = await browser.request('/data', { rawCookie: oldCookie })
    expect(snapshotOf(replay.body).data).toEqual(FRESH)
  })
})
