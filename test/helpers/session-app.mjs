// One app server process of the multi-process tests: Express 5 + the built typed-session (by its
// package name) over the store named by STORE, with routes that hold at parent-released barriers.
//
// Environment: STORE = native-redis | connect-redis | native-pg | connect-pg-simple;
// REDIS_URL, or REDIS_CLUSTER_URLS (comma-separated) for a Redis Cluster; DATABASE_URL,
// PG_SCHEMA, PG_TABLE; KEY_PREFIX; WRITERS (how many k<i> keys the schema has).

import connectPgSimple from 'connect-pg-simple'
import { RedisStore as ConnectRedisStore } from 'connect-redis'
import express from 'express'
import pg from 'pg'
import * as typedSession from 'typed-session'
import { PgStore } from 'typed-session/pg'
import { RedisStore } from 'typed-session/redis'
import { z } from 'zod'
import { redisClientFromEnv } from './child-redis.mjs'
import { barrier, serve } from './multi-process-child.mjs'

const SECRET = 'typed-session-multi-process-secret-0123456789'
const env = process.env
const writers = Number(env.WRITERS ?? 50)

async function makeStore() {
  const prefix = env.KEY_PREFIX
  switch (env.STORE) {
    case 'native-redis':
      return new RedisStore({ client: await redisClientFromEnv(), prefix })
    case 'connect-redis':
      return new ConnectRedisStore({ client: await redisClientFromEnv(), prefix })
    case 'native-pg':
    case 'connect-pg-simple': {
      const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10 })
      pool.on('error', () => {})
      const options = { pool, schemaName: env.PG_SCHEMA, tableName: env.PG_TABLE }
      if (env.STORE === 'native-pg') return new PgStore({ ...options, pruneIntervalMs: false })
      const PgSimple = connectPgSimple(typedSession)
      return new PgSimple({ ...options, createTableIfMissing: true, pruneSessionInterval: false })
    }
    default:
      throw new Error(`unknown STORE ${env.STORE}`)
  }
}

const keys = Array.from({ length: writers }, (_, i) => `k${i}`)
const schema = z.object({
  user: z.string().optional(),
  note: z.string().optional(),
  ...Object.fromEntries(keys.map((key) => [key, z.number().optional()])),
})

const app = express()
app.use(
  typedSession.session({
    schema,
    secret: SECRET,
    store: await makeStore(),
    flash: { info: z.string() },
    storeTimeout: 10_000,
  }),
)
app.get('/login', (req, res) => {
  req.session.user = String(req.query.user ?? 'alice')
  res.end('ok')
})
// Set one key after every writer has loaded the session: each holds the same stale copy.
app.get('/set', async (req, res) => {
  await barrier(String(req.query.barrier))
  req.session[String(req.query.k)] = 1
  res.end('ok')
})
app.get('/read', (req, res) => {
  res.json({ ...req.session })
})
app.get('/logout', async (req, res, next) => {
  try {
    await req.session.destroy()
    res.end('bye')
  } catch (err) {
    next(err)
  }
})
// Loaded before the logout, writes after it.
app.get('/slow', async (req, res) => {
  const user = req.session.user ?? null
  await barrier(String(req.query.barrier))
  req.session.note = 'late write'
  res.json({ user })
})
app.get('/flash-set', (req, res) => {
  req.flash('info', String(req.query.m))
  res.end('ok')
})
// Loaded (flash pending) before it reads.
app.get('/flash-read', async (req, res) => {
  await barrier(String(req.query.barrier))
  res.json(req.flash('info'))
})
app.use((err, _req, res, _next) => {
  res.statusCode = typedSession.isSessionError(err) ? err.status : 500
  res.end(typedSession.isSessionError(err) ? err.code : String(err))
})
serve(app)
