// `node bench/micro.mjs [iterations]`: the session middleware alone, without sockets or Express.
// Each request is a real IncomingMessage / ServerResponse pair with no socket, run one at a time
// through the middleware and a minimal handler; CPU microseconds per request (process.cpuUsage,
// best of 3 runs) for express-session, typed-session, and no middleware at all. Then the cost of
// the single steps typed-session's read path takes. Useful on a busy machine, where the HTTP
// bench is noisy: there is no load generator competing for the CPU.
import { randomBytes } from 'node:crypto'
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { parse as parseCookie, serialize as serializeCookie } from 'cookie'
import { sign, unsign } from 'cookie-signature'
import { COOKIE, COOKIE_NAME, loginData, SECRET, schema } from './config.mjs'
import { ensureBuilt, importTypedSession } from './harness.mjs'

const iterations = Number(process.argv[2] ?? 20_000)
ensureBuilt({ log: console.error })
const typed = await importTypedSession()
const expressSession = (await import('express-session')).default

const common = {
  secret: SECRET,
  name: COOKIE_NAME,
  cookie: { ...COOKIE },
  resave: false,
  saveUninitialized: false,
}
const allMiddlewares = {
  none: (_req, _res, next) => next(),
  'express-session': expressSession({ ...common, store: new expressSession.MemoryStore() }),
  'typed-session': typed.session({ ...common, schema, store: new typed.MemoryStore() }),
}
// MICRO_LIBS / MICRO_FLOWS narrow the run (e.g. for `node --cpu-prof`); MICRO_STEPS=0 skips the
// single-step table.
const pick = (name, all) => (process.env[name] ? process.env[name].split(',') : all)
const middlewares = Object.fromEntries(
  pick('MICRO_LIBS', Object.keys(allMiddlewares)).map((k) => [k, allMiddlewares[k]]),
)

const handlers = {
  login: (req) => {
    if (req.session) Object.assign(req.session, loginData())
    return { ok: true }
  },
  read: (req) => {
    const s = req.session ?? {}
    return { userId: s.userId ?? null, views: s.views ?? 0, items: s.cart?.length ?? 0 }
  },
  write: (req) => {
    if (!req.session) return { views: 1 }
    req.session.views = (req.session.views ?? 0) + 1
    return { views: req.session.views }
  },
  new: (req) => {
    if (!req.session) return { views: 1 }
    if (req.session.views === undefined) Object.assign(req.session, { cart: [], role: 'guest' })
    req.session.views = 1
    return { views: 1 }
  },
}

/** One request through `middleware` and `handler`; resolves with the response's Set-Cookie. */
function request(middleware, handler, cookie) {
  return new Promise((resolve, reject) => {
    const req = new IncomingMessage(new Socket())
    req.method = 'GET'
    req.url = '/'
    req.headers = cookie ? { cookie } : {}
    const res = new ServerResponse(req)
    // The innermost end: called when the middleware lets the response go.
    res.end = function end(...args) {
      const out = ServerResponse.prototype.end.apply(this, args)
      const setCookie = res.getHeader('set-cookie')
      // What the socket's 'close' would do: typed-session releases its per-session entry on it.
      queueMicrotask(() => {
        res.emit('close')
        resolve(setCookie)
      })
      return out
    }
    middleware(req, res, (err) => {
      if (err) return reject(err)
      const body = JSON.stringify(handler(req))
      res.setHeader('content-type', 'application/json; charset=utf-8')
      res.end(body)
    })
  })
}

async function cookieFor(middleware) {
  const setCookie = await request(middleware, handlers.login)
  const line = Array.isArray(setCookie) ? setCookie[0] : setCookie
  return line?.split(';')[0]
}

async function runFlow(name, flow) {
  const middleware = middlewares[name]
  const cookie = flow === 'new' ? undefined : await cookieFor(middleware)
  if (flow !== 'new' && name !== 'none' && !cookie) throw new Error(`${name}: no cookie from login`)
  let best = Number.POSITIVE_INFINITY
  for (let run = 0; run < 4; run++) {
    const before = process.cpuUsage()
    for (let i = 0; i < iterations; i++) await request(middleware, handlers[flow], cookie)
    const used = process.cpuUsage(before)
    // Run 0 is the warm-up.
    if (run > 0) best = Math.min(best, (used.user + used.system) / iterations)
  }
  return best
}

const rows = []
for (const flow of pick('MICRO_FLOWS', ['read', 'write', 'new'])) {
  const result = {}
  for (const name of Object.keys(middlewares)) result[name] = await runFlow(name, flow)
  rows.push({ flow, ...result })
}

console.log(
  `## Middleware alone: CPU us per request (best of 3 x ${iterations}), ${process.version}\n`,
)
console.log(
  '| flow | no session | express-session | typed-session | es overhead | ts overhead | ts / es overhead |',
)
console.log('|---|---:|---:|---:|---:|---:|---:|')
for (const r of rows) {
  if (
    r.none === undefined ||
    r['express-session'] === undefined ||
    r['typed-session'] === undefined
  ) {
    console.log(JSON.stringify(r))
    continue
  }
  const es = r['express-session'] - r.none
  const ts = r['typed-session'] - r.none
  console.log(
    `| ${r.flow} | ${r.none.toFixed(1)} | ${r['express-session'].toFixed(1)} | ${r['typed-session'].toFixed(1)} | ` +
      `${es.toFixed(1)} | ${ts.toFixed(1)} | ${(ts / es).toFixed(2)} |`,
  )
}

if (process.env.MICRO_STEPS === '0') process.exit(0)

// ---- single steps -----------------------------------------------------------------------------

function timeIt(fn, n = 100_000) {
  for (let i = 0; i < n / 10; i++) fn(i)
  let best = Number.POSITIVE_INFINITY
  for (let run = 0; run < 3; run++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) fn(i)
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n / 1000)
  }
  return best
}

const id = randomBytes(24).toString('base64url')
const signed = `s:${sign(id, SECRET)}`
const header = `${COOKIE_NAME}=${encodeURIComponent(signed)}`
const store = new typed.MemoryStore()
const record = {
  ...loginData(),
  cookie: {
    originalMaxAge: COOKIE.maxAge,
    expires: new Date(Date.now() + 86_400_000).toISOString(),
    httpOnly: true,
    path: '/',
    sameSite: 'lax',
  },
}
await store.set(id, record)
const stored = await store.get(id)
const parsed = JSON.parse(stored)
const { cookie: _c, ...data } = parsed
const validated = schema['~standard'].validate(data).value
const keys = Object.keys(validated)
let sink = 0

const steps = [
  ['parse the Cookie header (cookie.parse)', () => parseCookie(header)[COOKIE_NAME]],
  [
    'verify the signature (cookie-signature unsign: HMAC + compare)',
    () => unsign(signed.slice(2), SECRET),
  ],
  ['sign an id (cookie-signature sign: HMAC)', () => sign(id, SECRET)],
  ['new id: randomBytes(24).toString(base64url)', () => randomBytes(24).toString('base64url')],
  ['MemoryStore.get + await (decode to JSON string)', null],
  ['JSON.parse of the stored record', () => JSON.parse(stored)],
  [
    'copy data keys out of the record',
    () => {
      const o = {}
      for (const k of Object.keys(parsed)) if (k !== 'cookie' && k !== 'flash') o[k] = parsed[k]
      return o
    },
  ],
  [
    'zod 4 validate (~standard.validate) of the 5-key data',
    () => schema['~standard'].validate(data),
  ],
  [
    'snapshot: JSON.stringify of each of the 5 keys',
    () => {
      for (const k of keys) sink += JSON.stringify(validated[k]).length
    },
  ],
  [
    'changes: 5 stringify + key quoting + join (whole JSON)',
    () => {
      const parts = []
      for (const k of keys) parts.push(`${JSON.stringify(k)}:${JSON.stringify(validated[k])}`)
      return `{${parts.join(',')}}`
    },
  ],
  ['Date from the stored ISO expiry (cookie restore)', () => new Date(parsed.cookie.expires)],
  [
    'Set-Cookie value: cookie.serialize with expires',
    () =>
      serializeCookie(COOKIE_NAME, signed, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        expires: new Date(),
      }),
  ],
  ['res.once("close") listener + two closures (on a fresh ServerResponse)', null],
]
console.log('\n## Single steps of a typed-session request (us per call, best of 3)\n')
console.log('| step | us |\n|---|---:|')
for (const [label, fn] of steps) {
  let us
  if (label.startsWith('MemoryStore')) {
    const n = 50_000
    for (let i = 0; i < n / 10; i++) await store.get(id)
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await store.get(id)
    us = Number(process.hrtime.bigint() - t0) / n / 1000
  } else if (label.startsWith('res.once')) {
    const req = new IncomingMessage(new Socket())
    const base = timeIt(() => new ServerResponse(req), 20_000)
    us =
      timeIt(() => {
        const res = new ServerResponse(req)
        res.once('close', () => sink++)
        const end = res.end
        res.end = (...a) => end.apply(res, a)
        const wh = res.writeHead
        res.writeHead = (...a) => wh.apply(res, a)
      }, 20_000) - base
  } else {
    us = timeIt(fn)
  }
  console.log(`| ${label} | ${us.toFixed(2)} |`)
}
if (sink < 0) console.log(sink)
process.exit(0)
