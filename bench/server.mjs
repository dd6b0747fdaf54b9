// One benchmark server: `node bench/server.mjs <variant>`.
// Listens on 127.0.0.1, port 0. Reports its port over IPC ({ type: 'ready', port }) when forked,
// else prints `PORT <n>` on stdout. IPC commands: reset (empty store), cpu (process.cpuUsage(),
// and how many full GCs the schedule below made), gc-next (a full GC in the next request's
// handler; needs --expose-gc and BENCH_GC_GROWTH_BYTES),
// stop (clean up and exit 0, so `node --cpu-prof` writes its profile).
import { createServer } from 'node:http'
import { getHeapSpaceStatistics } from 'node:v8'
import express from 'express'
import {
  COOKIE,
  COOKIE_NAME,
  DATABASE_URL,
  loginData,
  NATIVE_STORE_VARIANTS,
  NEW_SESSION_DEFAULTS,
  PG_VARIANTS,
  pgSchema,
  REDIS_URL,
  REDIS_VARIANTS,
  redisPrefix,
  SECRET,
  schema,
  VARIANTS,
} from './config.mjs'
import { importTypedSession } from './harness.mjs'

const variant = process.argv[2]
if (!VARIANTS.includes(variant)) {
  console.error(`usage: node bench/server.mjs <${VARIANTS.join('|')}>`)
  process.exit(2)
}

const usesRedis = REDIS_VARIANTS.has(variant)
const usesPg = PG_VARIANTS.has(variant)
const prefix = redisPrefix(variant)
const schemaName = pgSchema(variant)
const redis = usesRedis ? await connectRedis() : undefined
const pool = usesPg ? await connectPg() : undefined
const lib = await loadLibrary(variant)

// The HTTP server outlives the app: `reset` swaps in a fresh app (and so a fresh, empty store)
// without a new process, so JIT state and connections survive between measurements.
let app = makeApp()
// BENCH_DATE_HEADER=0 (bench/icount.mjs): no `Date` response header. Node caches that header's
// text and refreshes it from a one-second timer, so its cost is per second, not per request: under
// valgrind (about 100 requests a second) that timer runs a hundred times more often per request
// than in production, and how often depends on how busy the machine is.
const sendDate = process.env.BENCH_DATE_HEADER !== '0'
const server = createServer(
  sendDate
    ? (req, res) => app(req, res)
    : (req, res) => {
        res.sendDate = false
        app(req, res)
      },
)
server.keepAliveTimeout = 60_000
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const { port } = server.address()

// Ctrl-C reaches the whole process group; a parent that dies closes the IPC channel. Either
// way, remove this server's Redis keys before exiting.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => stop())
if (process.send) {
  process.on('message', onCommand)
  process.once('disconnect', () => stop())
  process.send({ type: 'ready', port })
} else {
  console.log(`PORT ${port}`)
}

async function onCommand(message) {
  const { id, cmd } = message ?? {}
  try {
    if (cmd === 'reset') {
      await clearRedis()
      await clearPg()
      app = makeApp()
      process.send({ id, ok: true })
    } else if (cmd === 'gc-next') {
      // bench/icount.mjs: a full collection in the next request's handler.
      gcNext = true
      process.send({ id, ok: true, scheduledGcs })
    } else if (cmd === 'cpu') {
      const memory = process.memoryUsage()
      process.send({ id, ok: true, cpu: process.cpuUsage(), memory, scheduledGcs })
    } else if (cmd === 'stop') {
      process.send?.({ id, ok: true })
      await stop()
    } else {
      process.send({ id, ok: false, error: `unknown command ${cmd}` })
    }
  } catch (err) {
    process.send({ id, ok: false, error: String(err?.stack ?? err) })
  }
}

/** Old-generation bytes in use right after the last scheduled full GC. */
let oldAfterGc = 0

function fullGc() {
  if (typeof globalThis.gc !== 'function') throw new Error('gc needs node --expose-gc')
  globalThis.gc()
  oldAfterGc = oldGenerationBytes()
}

// BENCH_GC_GROWTH_BYTES (bench/icount.mjs): full GCs on a schedule of the benchmark's own, from
// inside a route handler, as V8's own trigger lands in the middle of some request (why: the comment
// at the top of bench/icount.mjs). Every GC_CHECK_EVERY requests the handler looks at how much
// the old generation has grown since the last full GC. Called from each handler, not a middleware
// of its own, which would add a router layer to every counted request.
const GC_CHECK_EVERY = 100
const gcGrowthBytes = Number(process.env.BENCH_GC_GROWTH_BYTES ?? 0)
let served = 0
let gcNext = false
let scheduledGcs = 0

function gcPoint() {
  if (gcGrowthBytes === 0) return
  served++
  if (
    gcNext ||
    (served % GC_CHECK_EVERY === 0 && oldGenerationBytes() - oldAfterGc > gcGrowthBytes)
  ) {
    gcNext = false
    fullGc()
    scheduledGcs++
  }
}

/** Bytes in use in the spaces a scavenge promotes into (and large objects). */
function oldGenerationBytes() {
  let bytes = 0
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === 'old_space' || space.space_name === 'large_object_space')
      bytes += space.space_used_size
  }
  return bytes
}

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  server.closeAllConnections()
  server.close()
  await clearRedis()
  await redis?.close()
  await pool?.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`).catch(() => {})
  await pool?.end()
  process.exit(0)
}

/** The app of this variant: the same four routes everywhere. */
function makeApp() {
  const a = express()
  if (variant === 'bare') {
    mountBareRoutes(a)
  } else {
    a.use(makeSessionMiddleware())
    mountSessionRoutes(a)
  }
  a.use((err, _req, res, _next) => {
    console.error(`[${variant}]`, err)
    res.status(500).json({ error: String(err?.message ?? err) })
  })
  return a
}

function makeSessionMiddleware() {
  const store = makeStore()
  const common = {
    secret: SECRET,
    name: COOKIE_NAME,
    cookie: { ...COOKIE },
    resave: false,
    saveUninitialized: false,
    ...(store ? { store } : {}),
  }
  if (lib.kind === 'express-session') return lib.session(common)
  return lib.session({ ...common, schema, allowMemoryStoreInProduction: true })
}

/** `undefined` means the library's own MemoryStore, made by the library itself. */
function makeStore() {
  if (usesPg) return new lib.PgStore({ pool, schemaName, tableName: 'session', ...lib.pgOptions })
  if (usesRedis) return new lib.RedisStore({ client: redis, prefix })
  if (lib.kind === 'express-session') return new lib.MemoryStore()
  return lib.MemoryStore ? new lib.MemoryStore() : undefined
}

/** Routes with a session. express-session and typed-session run the very same handlers. */
function mountSessionRoutes(a) {
  a.get('/login', (req, res) => {
    const data = loginData()
    req.session.userId = data.userId
    req.session.role = data.role
    req.session.views = data.views
    req.session.prefs = data.prefs
    req.session.cart = data.cart
    res.json({ ok: true })
  })
  a.get('/read', (req, res) => {
    gcPoint()
    const s = req.session
    res.json({ userId: s.userId ?? null, views: s.views ?? 0, items: s.cart?.length ?? 0 })
  })
  a.get('/write', (req, res) => {
    gcPoint()
    req.session.views = (req.session.views ?? 0) + 1
    res.json({ views: req.session.views })
  })
  a.get('/new', (req, res) => {
    gcPoint()
    // A typed-session session starts as the schema's defaults; give express-session the same
    // keys so both stores hold the same record.
    if (req.session.views === undefined)
      Object.assign(req.session, structuredClone(NEW_SESSION_DEFAULTS))
    req.session.views = 1
    res.json({ views: req.session.views })
  })
}

/** The limit: same routes and response bodies, no session. */
function mountBareRoutes(a) {
  let views = 0
  const { userId } = loginData()
  a.get('/login', (_req, res) => {
    res.json({ ok: true })
  })
  a.get('/read', (_req, res) => {
    gcPoint()
    res.json({ userId, views: 0, items: 3 })
  })
  a.get('/write', (_req, res) => {
    gcPoint()
    views += 1
    res.json({ views })
  })
  a.get('/new', (_req, res) => {
    gcPoint()
    res.json({ views: 1 })
  })
}

async function loadLibrary(name) {
  if (name === 'bare') return { kind: 'bare' }
  let RedisStore = usesRedis ? (await import('connect-redis')).RedisStore : undefined
  const connectPgSimple = usesPg ? (await import('connect-pg-simple')).default : undefined
  // connect-pg-simple creates its table on first use; prune runs never during a measurement.
  const pgOptions = { createTableIfMissing: true, pruneSessionInterval: false }
  if (name.startsWith('express-session')) {
    const mod = (await import('express-session')).default
    const PgStore = connectPgSimple?.(mod)
    return {
      kind: 'express-session',
      session: mod,
      MemoryStore: mod.MemoryStore,
      RedisStore,
      PgStore,
      pgOptions,
    }
  }
  const mod = await importTypedSession()
  let PgStore = connectPgSimple?.(mod)
  if (NATIVE_STORE_VARIANTS.has(name)) {
    // typed-session/redis and typed-session/pg: the build's own subpath entries.
    if (usesRedis) RedisStore = (await importTypedSession('redis')).RedisStore
    if (usesPg) {
      PgStore = (await importTypedSession('pg')).PgStore
      return {
        kind: 'typed-session',
        session: mod.session,
        PgStore,
        pgOptions: { pruneIntervalMs: false },
      }
    }
  }
  return {
    kind: 'typed-session',
    session: mod.session,
    MemoryStore: mod.MemoryStore,
    RedisStore,
    PgStore,
    pgOptions,
  }
}

async function connectPg() {
  const pg = (await import('pg')).default
  const client = new pg.Pool({ connectionString: DATABASE_URL, max: 10 })
  client.on('error', (err) => console.error(`[${variant}] pg:`, err.message))
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${schemaName}"`)
  return client
}

/** Empty this process's table (it exists once the first request created it). */
async function clearPg() {
  if (pool === undefined) return
  await pool.query(`DELETE FROM "${schemaName}"."session"`).catch((err) => {
    if (err?.code !== '42P01') throw err // undefined_table: nothing stored yet
  })
}

async function connectRedis() {
  const { createClient } = await import('redis')
  const client = createClient({
    url: REDIS_URL,
    socket: { connectTimeout: 2000, reconnectStrategy: false },
  })
  client.on('error', (err) => console.error(`[${variant}] redis:`, err.message))
  await client.connect()
  return client
}

/** Delete this process's keys (SCAN, never KEYS, so a shared Redis is not blocked). */
async function clearRedis() {
  if (!redis?.isOpen) return
  for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    const keys = Array.isArray(batch) ? batch : [batch]
    if (keys.length > 0) await redis.del(keys)
  }
}
