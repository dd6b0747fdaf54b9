// Issue 10, Redis Cluster: the test starts a 3-node cluster on free loopback ports, runs the store
// conformance suite on the native RedisStore over `createCluster`, and the multi-process scenarios
// (2 and 4 app processes, one cookie: writes, logouts, flash) on it, beside connect-redis 9 on the same cluster; then stops
// the nodes by pid. Every RedisStore command touches one key, so none is refused with CROSSSLOT.
import { createCluster } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { indexConformance } from '../../src/owner/conformance.js'
import { storeConformance } from '../../src/stores/conformance.js'
import { RedisStore } from '../../src/stores/redis.js'
import {
  crossProcessScenarios,
  printCounts,
  type SetupCounts,
  startSessionApps,
} from '../concurrency/multi-process-support.js'
import { type RedisCluster, startRedisCluster } from '../fixtures/redis-cluster.js'
import { uniqueName } from '../fixtures/services.js'
import type { ServerProcesses } from '../helpers/multi-process.js'
import {
  endedWhileInFlight,
  getJson,
  LOGINS,
  listedCounts,
  startOwnerApps,
  uniqueUser,
} from '../owner/multi-process-support.js'

let cluster: RedisCluster
let client: ReturnType<typeof createCluster>
let store: RedisStore
const counts: Record<string, SetupCounts> = {}

beforeAll(async () => {
  cluster = await startRedisCluster()
  client = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) })
  client.on('error', () => {})
  await client.connect()
  store = new RedisStore({ client, prefix: `${uniqueName('ts-cluster')}:` })
}, 120_000)

afterAll(async () => {
  printCounts('multi-process, 3-node Redis Cluster', counts)
  await client?.close()
  const pids = cluster?.pids ?? []
  await cluster?.stop()
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
})

describe('storeConformance on the native RedisStore over a 3-node Redis Cluster', () => {
  for (const c of storeConformance) it(c.name, () => c.run(store))

  it('spreads sessions over the nodes (the test really runs on a cluster)', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `spread-${i}`)
    const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() }
    for (const id of ids) await store.set(id, { cookie })
    const perNode = await Promise.all(
      client.masters.map(async (master) => (await client.nodeClient(master)).dbSize()),
    )
    expect(perNode.filter((n) => n > 0).length).toBe(3)
    for (const id of ids) await store.destroy(id)
  })
})

for (const processes of [2, 4]) {
  for (const setup of [
    { store: 'native-redis', asserted: true },
    { store: 'connect-redis', asserted: false },
  ] as const) {
    describe(`${setup.store} on the cluster, ${processes} processes, one cookie`, () => {
      const c: SetupCounts = {}
      counts[`${setup.store} x${processes}`] = c
      let group: ServerProcesses | undefined

      beforeAll(async () => {
        group = await startSessionApps(processes, {
          STORE: setup.store,
          REDIS_CLUSTER_URLS: cluster.urls.join(','),
          KEY_PREFIX: `${uniqueName('ts-cluster-mp')}:`,
        })
      }, 120_000)
      afterAll(async () => {
        await group?.close()
      })

      crossProcessScenarios(() => group!, c, setup.asserted)
    })
  }
}

// ---- Issue 12: the session index on the cluster. The owner's set and the session keys live in
// different slots; every command touches one key, so the index works there too.
describe('the session index on the 3-node Redis Cluster', () => {
  for (const c of indexConformance) it(c.name, () => c.run(store))

  describe('2 processes (owner-app)', () => {
    let group: ServerProcesses | undefined
    beforeAll(async () => {
      group = await startOwnerApps({
        STORE: 'native-redis',
        REDIS_CLUSTER_URLS: cluster.urls.join(','),
        KEY_PREFIX: `${uniqueName('ts-cluster-owner')}:`,
      })
    }, 120_000)
    afterAll(async () => {
      await group?.close()
    })

    it('indexes 20 concurrent logins, and revoke-all leaves 0 of 20 through in-flight writes', async () => {
      const user = uniqueUser()
      const { signedInBefore, back } = await endedWhileInFlight(group!, user, async () => {
        expect(await listedCounts(group!, user)).toEqual([LOGINS, LOGINS])
        expect(await getJson(group!.urls[0]!, `/revoke-all?user=${user}`)).toBe(LOGINS)
      })
      expect(signedInBefore).toBe(LOGINS)
      expect(back).toBe(0)
      expect(await listedCounts(group!, user)).toEqual([0, 0])
    }, 120_000)
  })
})
