// A private redis-server, stopped and restarted by its pid under the store adapter: calls fail
// fast with ERR_SESSION_STORE while it is down, and work again (with the old data) once it is back.
import { RedisStore } from 'connect-redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isSessionError } from '../../src/errors.js'
import { toSessionStore } from '../../src/stores/adapt.js'
import type { SessionRecord, SessionStore } from '../../src/stores/types.js'
import {
  connectRedis,
  disposeAllRedisServers,
  type RedisServer,
  startRedisServer,
  uniqueName,
} from '../fixtures/services.js'

const TIMEOUT_MS = 500
// Scheduling slack on a loaded 2-core CI machine.
const SLACK_MS = 400

function record(data: Record<string, unknown>): SessionRecord {
  return {
    ...data,
    cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000).toISOString() },
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Time one store call; it must reject with ERR_SESSION_STORE. */
async function expectFastFailure(call: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  const err = await call().then(
    () => new Error('the call succeeded while Redis was down'),
    (e: unknown) => e,
  )
  const elapsed = performance.now() - started
  expect(isSessionError(err) && err.code === 'ERR_SESSION_STORE', String(err)).toBe(true)
  expect(elapsed).toBeLessThan(TIMEOUT_MS + SLACK_MS)
  return elapsed
}

/** Retry `get` until the client has reconnected; bounded by `deadlineMs`. */
async function waitUntilServing(store: SessionStore, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      await store.get('probe')
      return
    } catch (err) {
      last = err
    }
    // Yield to I/O between attempts: without an offline queue the client rejects in a microtask,
    // and a tight loop would starve the very reconnect it waits for.
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(
    `the store did not serve again within ${deadlineMs} ms: ${String(last)} (cause: ${String((last as Error | undefined)?.cause)})`,
  )
}

describe.each([
  { name: 'default client (offline queue)', disableOfflineQueue: false },
  { name: 'client with disableOfflineQueue', disableOfflineQueue: true },
])(
  'connect-redis through toSessionStore when redis-server stops and restarts: $name',
  ({ disableOfflineQueue }) => {
    let server: RedisServer
    let client: Awaited<ReturnType<typeof connectRedis>>
    let store: SessionStore
    const prefix = `${uniqueName('ts-fault')}:`

    beforeAll(async () => {
      server = await startRedisServer()
      client = await connectRedis(server.url, { disableOfflineQueue })
      store = toSessionStore(new RedisStore({ client, prefix }), { timeoutMs: TIMEOUT_MS })
    })

    afterAll(async () => {
      client?.destroy()
      await server?.dispose()
      await disposeAllRedisServers()
    })

    it('fails fast while down, serves old and new data after the restart', async () => {
      const before = record({ userId: 'u-before', cart: ['a'] })
      await store.set('saved-before', before)
      expect(await store.get('saved-before')).toEqual(before)

      const pid = server.pid!
      await server.stop()
      expect(isAlive(pid)).toBe(false)

      const took = [
        await expectFastFailure(() => store.get('saved-before')),
        await expectFastFailure(() => store.set('during', record({ x: 1 }))),
        await expectFastFailure(() => store.touch!('saved-before', record({}))),
        // Not 'saved-before': with the offline queue, a command that timed out still runs once the
        // client reconnects (the adapter reported the failure; the client replays it later).
        await expectFastFailure(() => store.destroy('other')),
      ]
      if (disableOfflineQueue) {
        // Without an offline queue the client refuses at once instead of waiting for the timeout.
        expect(Math.max(...took)).toBeLessThan(TIMEOUT_MS)
      }

      await server.start()
      expect(server.pid).not.toBe(pid)
      await waitUntilServing(store, 10_000)

      expect(await store.get('saved-before')).toEqual(before)
      const after = record({ userId: 'u-after' })
      await store.set('saved-after', after)
      expect(await store.get('saved-after')).toEqual(after)
      await store.destroy('saved-before')
      await store.destroy('saved-after')
      await store.destroy('during')
      expect(await store.get('saved-before')).toBeNull()
    })
  },
)
