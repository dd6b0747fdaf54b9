// `node --expose-gc bench/memory.mjs <express-session|typed-session> [sessions]`
// Heap cost of a memory store holding N sessions: heapUsed after gc, minus heapUsed after gc
// before, divided by N. The record stored is the one the real middleware saves after `/login`
// (captured from its store.set call), so both stores hold the same data in their own shape.
// Prints one JSON line on stdout.
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { setImmediate as tick } from 'node:timers/promises'
import express from 'express'
import { COOKIE, COOKIE_NAME, loginData, SECRET, schema } from './config.mjs'
import { importTypedSession } from './harness.mjs'

const library = process.argv[2]
const count = Number(process.argv[3] ?? 100_000)
if (!['express-session', 'typed-session'].includes(library) || !(count > 0)) {
  console.error(
    'usage: node --expose-gc bench/memory.mjs <express-session|typed-session> [sessions]',
  )
  process.exit(2)
}
if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc')
  process.exit(2)
}

const { store, makeMiddleware, set } = await makeStore(library)
const { template, recordSource } = await loginRecord(store, makeMiddleware)
const userIdLength = loginData().userId.length

const before = await settledHeap()
for (let i = 0; i < count; i++) {
  // Session ids as both libraries make them: 24 random bytes, base64url (32 characters).
  const id = randomBytes(24).toString('base64url')
  const record = structuredClone(template)
  // A distinct user per session, as in real life (no string shared between records).
  record.userId = `user-${String(i).padStart(userIdLength - 5, '0')}`
  await set(id, record)
}
const after = await settledHeap()

const heapDeltaBytes = after - before
console.log(
  JSON.stringify({
    store: library,
    sessions: count,
    heapDeltaBytes,
    bytesPerSession: heapDeltaBytes / count,
    recordJsonBytes: JSON.stringify(template).length,
    recordSource,
    // Keep the store reachable until after the measurement.
    held: store ? 'yes' : 'no',
  }),
)
process.exit(0)

async function makeStore(name) {
  if (name === 'express-session') {
    const session = (await import('express-session')).default
    const store = new session.MemoryStore()
    const makeMiddleware = () =>
      session({
        secret: SECRET,
        name: COOKIE_NAME,
        cookie: { ...COOKIE },
        resave: false,
        saveUninitialized: false,
        store,
      })
    const set = (id, record) =>
      new Promise((resolve, reject) =>
        store.set(id, record, (err) => (err ? reject(err) : resolve())),
      )
    return { store, makeMiddleware, set }
  }
  const mod = await importTypedSession()
  if (typeof mod.MemoryStore !== 'function')
    throw new Error('typed-session does not export MemoryStore yet')
  // Its default `max` (LRU bound) is 10,000: raise it, or the store would evict what we count.
  const store = new mod.MemoryStore({ max: count + 1 })
  const makeMiddleware = () =>
    mod.session({
      schema,
      secret: SECRET,
      name: COOKIE_NAME,
      cookie: { ...COOKIE },
      resave: false,
      saveUninitialized: false,
      store,
    })
  const set = (id, record) => store.set(id, record)
  return { store, makeMiddleware, set }
}

/**
 * The record the middleware saves for `/login`; while typed-session's `session()` is not built
 * yet, a hand-made record of the same shape (reported as `recordSource: 'synthesized'`).
 */
async function loginRecord(store, makeMiddleware) {
  try {
    return { template: await captureLoginRecord(store, makeMiddleware), recordSource: 'middleware' }
  } catch (err) {
    if (library !== 'typed-session' || !/not implemented/.test(String(err?.message))) throw err
    const cookie = {
      ...COOKIE,
      originalMaxAge: COOKIE.maxAge,
      expires: new Date(Date.now() + COOKIE.maxAge),
    }
    delete cookie.maxAge
    return { template: { ...loginData(), cookie }, recordSource: 'synthesized' }
  }
}

/**
 * Run one real `/login` through the middleware and return a deep copy of what it handed to
 * `store.set`, in the form the store received it (a plain object: what survives the store's own
 * serialization is what the store keeps).
 */
async function captureLoginRecord(store, makeMiddleware) {
  let captured
  // typed-session creates a new session with `create` (create-if-absent), express-session with
  // `set`: both are wrapped.
  const wrapped = ['set', 'create'].filter((name) => typeof store[name] === 'function')
  const originals = wrapped.map((name) => [name, store[name], Object.hasOwn(store, name)])
  // Wrapped before the middleware exists, in case it binds store methods when it is created.
  for (const [name, original] of originals) {
    store[name] = function capture(id, record, ...rest) {
      // express-session passes its Session object (with a hidden req); its store keeps the JSON.
      captured =
        library === 'express-session' ? JSON.parse(JSON.stringify(record)) : structuredClone(record)
      return original.call(this, id, record, ...rest)
    }
  }
  const app = express()
  app.use(makeMiddleware())
  app.get('/login', (req, res) => {
    Object.assign(req.session, loginData())
    res.json({ ok: true })
  })
  const server = createServer(app)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const res = await fetch(`http://127.0.0.1:${server.address().port}/login`, {
      headers: { connection: 'close' },
    })
    await res.arrayBuffer()
    if (res.status !== 200 || captured === undefined) {
      throw new Error(`${library}: /login did not save a session (status ${res.status})`)
    }
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    for (const [name, original, own] of originals) {
      if (own) store[name] = original
      else delete store[name]
    }
  }
  return captured
}

async function settledHeap() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc()
    await tick()
  }
  return process.memoryUsage().heapUsed
}
