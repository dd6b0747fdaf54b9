// One app server process of the session-index multi-process tests (issue 12): Express 5 + the
// built typed-session (by its package name) with `owner`, over the store named by STORE, and
// routes that hold at parent-released barriers.
//
// Environment: STORE = native-redis | native-pg | connect-redis; REDIS_URL, or
// REDIS_CLUSTER_URLS (comma-separated); DATABASE_URL, PG_SCHEMA, PG_TABLE; KEY_PREFIX; EPOCH=1 to
// check an owner epoch kept in Redis under KEY_PREFIX + 'epoch:' + owner.

import { RedisStore as ConnectRedisStore } from 'connect-redis'
import express from 'express'
import pg from 'pg'
import * as typedSession from 'typed-session'
import { PgStore } from 'typed-session/pg'
import { RedisStore } from 'typed-session/redis'
import { z } from 'zod'
import { redisClientFromEnv } from '../helpers/child-redis.mjs'
import { barrier, serve } from '../helpers/multi-process-child.mjs'

const SECRET = 'typed-session-owner-index-secret-0123456789'
const env = process.env
const prefix = env.KEY_PREFIX ?? 'sess:'

const redis =
  env.STORE === 'native-pg' && env.EPOCH !== '1' ? undefined : await redisClientFromEnv()

async function makeStore() {
  switch (env.STORE) {
    case 'native-redis':
      return new RedisStore({ client: redis, prefix })
    case 'connect-redis':
      return new ConnectRedisStore({ client: redis, prefix })
    case 'native-pg': {
      const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10 })
      pool.on('error', () => {})
      return new PgStore({
        pool,
        schemaName: env.PG_SCHEMA,
        tableName: env.PG_TABLE,
        pruneIntervalMs: false,
      })
    }
    default:
      throw new Error(`unknown STORE ${env.STORE}`)
  }
}

const schema = z.object({
  passport: z.object({ user: z.string().optional() }).optional(),
  device: z.string().optional(),
  visits: z.number().int().default(0),
})

const appSession = typedSession.session({
  schema,
  secret: SECRET,
  store: await makeStore(),
  storeTimeout: 10_000,
  owner: (data) => data.passport?.user,
  sessionLabel: (data) => data.device,
  ...(env.EPOCH === '1'
    ? { ownerEpoch: async (owner) => (await redis.get(`${prefix}epoch:${owner}`)) ?? undefined }
    : {}),
})

const app = express()
app.use(appSession)
const answer = (res, promise) =>
  promise.then(
    (value) => res.json(value),
    (err) => {
      res.statusCode = typedSession.isSessionError(err) ? err.status : 500
      res.end(typedSession.isSessionError(err) ? err.code : String(err))
    },
  )
app.get('/login', async (req, res, next) => {
  try {
    // passport's req.login: a new id for the signed-in session.
    await req.session.regenerate()
    req.session.passport = { user: String(req.query.user ?? 'alice') }
    req.session.device = `process ${env.SERVER_INDEX}`
    res.end('ok')
  } catch (err) {
    next(err)
  }
})
app.get('/me', (req, res) => {
  res.json({ user: req.session.passport?.user ?? null })
})
// Loaded before the revocation, writes after it.
app.get('/slow', async (req, res) => {
  const user = req.session.passport?.user ?? null
  await barrier(String(req.query.barrier))
  req.session.visits += 1
  res.json({ user })
})
app.get('/sessions', (req, res) => {
  answer(res, appSession.listSessions(String(req.query.user)))
})
app.get('/revoke-all', (req, res) => {
  answer(res, appSession.revokeSessions(String(req.query.user)))
})
app.get('/bump-epoch', (req, res) => {
  answer(res, redis.incr(`${prefix}epoch:${String(req.query.user)}`))
})
app.use((err, _req, res, _next) => {
  res.statusCode = typedSession.isSessionError(err) ? err.status : 500
  res.end(typedSession.isSessionError(err) ? err.code : String(err))
})
serve(app)
