/*
 * The native stores' subpaths: `typed-session/redis` takes any node-redis 5 client (single node
 * or cluster) and `typed-session/pg` a pg 8 Pool; both are `SessionStore`s `session()` accepts.
 */
import pg from 'pg'
import { createClient, createCluster } from 'redis'
import { expectAssignable, expectError, expectType } from 'tsd'
import { type SessionStore, session } from 'typed-session'
import { PgStore } from 'typed-session/pg'
import { RedisStore } from 'typed-session/redis'
import { z } from 'zod'

const schema = z.object({ views: z.number().int().default(0) })
const secret = 'a-secret-of-at-least-thirty-two-characters'

const client = createClient()
const cluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:7000' }] })
const redis = new RedisStore({ client, prefix: 'app:' })
new RedisStore({ client: cluster })
new RedisStore({ client, ttl: 3600, disableTouch: true })
new RedisStore({ client, ttl: (record) => (record.cookie.originalMaxAge ?? 0) / 1000 })
expectAssignable<SessionStore>(redis)
expectType<string>(redis.prefix)
session({ schema, secret, store: redis })

const pool = new pg.Pool()
const pgStore = new PgStore({
  pool,
  tableName: 'session',
  schemaName: 'app',
  pruneIntervalMs: false,
})
expectAssignable<SessionStore>(pgStore)
session({ schema, secret, store: pgStore })

// The native operations are typed: create-if-absent and the flash take.
expectType<Promise<boolean>>(
  redis.create('id', { cookie: { originalMaxAge: null, expires: null } }),
)
expectType<Promise<string | null>>(pgStore.takeFlash('id'))

// Rejected: a missing client or pool, something else in its place, a ttl that is not seconds.
expectError(new RedisStore({ prefix: 'app:' }))
expectError(new RedisStore({ client: { get: 1 } }))
expectError(new RedisStore({ client, ttl: '1h' }))
expectError(new PgStore({ tableName: 'session' }))
expectError(new PgStore({ pool: 'postgres://localhost' }))
expectError(new PgStore({ pool, pruneIntervalMs: true }))
