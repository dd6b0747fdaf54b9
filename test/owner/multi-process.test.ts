// Issue 12, "Done when", across processes: 2 server processes on loopback over one real Redis or
// PostgreSQL. 20 concurrent logins of one user leave 20 index entries (none dropped); revoke-all
// from one process ends every one, and none comes back through a request in flight in the other
// process (0 of 20); the epoch check ends sessions on a store with no index (connect-redis).
// The same scenarios on a 3-node Redis Cluster are in test/stores/redis-cluster.test.ts.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
import type { ServerProcesses } from '../helpers/multi-process.js'
import {
  endedWhileInFlight,
  getJson,
  LOGINS,
  listedCounts,
  loginMany,
  signedIn,
  startOwnerApps,
  uniqueUser,
} from './multi-process-support.js'

const redisPrefix = `${uniqueName('ts_owner_mp')}:`
let pool: pg.Pool
let pgSchema: string | undefined

beforeAll(async () => {
  await requireRedis()
  await requirePostgres()
  pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
  pgSchema = await createPgSchema(pool, 'ts_owner_mp')
})

afterAll(async () => {
  const client = await connectRedis()
  for (const pattern of [`${redisPrefix}*`, `owner-index:${redisPrefix}*`]) {
    const keys = await client.keys(pattern)
    if (keys.length > 0) await client.del(keys)
  }
  client.destroy()
  if (pgSchema !== undefined) await dropPgSchema(pool, pgSchema)
  await pool?.end()
})

const baseEnv = () => ({ REDIS_URL, DATABASE_URL, KEY_PREFIX: redisPrefix, PG_SCHEMA: pgSchema! })

describe.each([
  ['native Redis store', { STORE: 'native-redis' }],
  ['native PostgreSQL store', { STORE: 'native-pg', PG_TABLE: 'owner_sessions' }],
])('session index across 2 processes on the %s', (name, storeEnv) => {
  let group: ServerProcesses
  beforeAll(async () => {
    group = await startOwnerApps({ ...baseEnv(), ...storeEnv })
  })
  afterAll(async () => {
    await group?.close()
  })

  it('keeps every one of 20 concurrent logins of one user in the index', async () => {
    const user = uniqueUser()
    const cookies = await loginMany(group, user)
    expect(await listedCounts(group, user)).toEqual([LOGINS, LOGINS])
    expect(await signedIn(group, cookies)).toBe(LOGINS)
  })

  it('revoke-all in one process ends all 20; none comes back through the other (0 of 20)', async () => {
    const user = uniqueUser()
    const { signedInBefore, back } = await endedWhileInFlight(group, user, async () => {
      expect(await getJson(group.urls[0]!, `/revoke-all?user=${user}`)).toBe(LOGINS)
    })
    console.info(
      `[issue-12 counts] ${name}: revoked sessions back after in-flight writes: ${back} of ${LOGINS}`,
    )
    expect(signedInBefore).toBe(LOGINS)
    expect(back).toBe(0)
    expect(await listedCounts(group, user)).toEqual([0, 0])
  })
})

describe('the epoch check across 2 processes on connect-redis (a store with no index)', () => {
  let group: ServerProcesses
  beforeAll(async () => {
    group = await startOwnerApps({ ...baseEnv(), STORE: 'connect-redis', EPOCH: '1' })
  })
  afterAll(async () => {
    await group?.close()
  })

  it('ends every session of the user, in-flight writes included (0 of 20 left)', async () => {
    const user = uniqueUser()
    const { signedInBefore, back } = await endedWhileInFlight(group, user, async () => {
      expect(await getJson(group.urls[0]!, `/bump-epoch?user=${user}`)).toBe(1)
    })
    console.info(
      `[issue-12 counts] connect-redis + ownerEpoch: sessions left signed in: ${back} of ${LOGINS}`,
    )
    expect(signedInBefore).toBe(LOGINS)
    expect(back).toBe(0)
  })

  it('answers list and revoke with ERR_SESSION_NO_INDEX', async () => {
    for (const path of ['/sessions?user=u', '/revoke-all?user=u']) {
      const response = await (await fetch(group.urls[0]! + path)).text()
      expect(response).toBe('ERR_SESSION_NO_INDEX')
    }
  })
})
