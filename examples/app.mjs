// typed-session example: a small shop with a visit counter, a cart, Passport login, CSRF tokens and
// typed flash messages, all kept in one schema-validated session. Run it with `npm start`.
// REDIS_URL or DATABASE_URL switch the store; PORT and SESSION_SECRET are read from the environment.
import { resolve } from 'node:path'
import express from 'express'
import { MemoryStore, session } from 'typed-session'
import { z } from 'zod'
import { createPassport, hasValidCsrfToken, newToken } from './auth.mjs'
import { storeFromEnv } from './stores.mjs'
import * as views from './views.mjs'

/** Prices in cents, so totals stay exact. */
export const PRODUCTS = [
  { sku: 'tea', name: 'Green tea, 100 g', priceCents: 650 },
  { sku: 'mug', name: 'Stoneware mug', priceCents: 1400 },
  { sku: 'beans', name: 'Coffee beans, 250 g', priceCents: 990 },
  { sku: 'biscuits', name: 'Oat biscuits', priceCents: 350 },
]
const MAX_QTY = 99

/** Demo accounts; only scrypt hashes of the passwords are kept (made at startup). */
export const DEMO_USERS = [
  { id: 'u1', username: 'alice', name: 'Alice', password: 'wonderland' },
  { id: 'u2', username: 'bob', name: 'Bob', password: 'builder' },
]

/** Used when SESSION_SECRET is not set; main() warns loudly about it. */
export const DEV_SECRET = 'typed-session-example-development-secret-not-for-production'

/** Everything the app keeps per visitor. A record from the store that does not match is dropped. */
export const SessionSchema = z.object({
  views: z.number().int().nonnegative().default(0),
  cart: z
    .array(z.object({ sku: z.string(), qty: z.number().int().min(1).max(MAX_QTY) }))
    .max(PRODUCTS.length)
    .default([]),
  csrf: z.string().optional(),
  // Passport 0.7 keeps the login in `passport.user`; a schema that does not declare it strips it.
  passport: z.object({ user: z.string().optional() }).optional(),
})

/** Flash message kinds. Passport's `failureFlash` queues `error` strings. */
const FlashSchema = {
  error: z.string(),
  info: z.string(),
  added: z.object({ sku: z.string(), qty: z.number().int() }),
}

/** An error that becomes a page with this status (the error handler renders it). */
class HttpError extends Error {
  /** @param {number} status @param {string} title @param {string} message */
  constructor(status, title, message) {
    super(message)
    this.status = status
    this.title = title
  }
}

/**
 * Build the Express app. Tests inject the store and secret; main() below reads the environment.
 * @param {{ store?: import('typed-session').StoreOption, secret?: string | string[],
 *   logError?: (err: unknown) => void }} [options]
 * @returns {import('express').Express}
 */
export function createApp({ store = new MemoryStore(), secret = DEV_SECRET, logError } = {}) {
  const log = logError ?? ((err) => console.error(err))
  const auth = createPassport(DEMO_USERS)
  const app = express()
  app.disable('x-powered-by')
  // Answered before the session, so the browser's favicon request neither counts as a visit nor
  // creates a session.
  app.get('/favicon.ico', (_req, res) => res.status(204).end())
  app.use(
    session({
      schema: SessionSchema,
      flash: FlashSchema,
      secret,
      store,
      cookie: { maxAge: 2 * 60 * 60 * 1000 },
    }),
  )
  app.use(express.urlencoded({ extended: false, limit: '4kb' }))
  app.use(auth.initialize(), auth.session())
  app.use((req, res, next) => {
    // Every page shows session data (the user's name, the cart), so no page may be stored by the
    // browser cache: after sign-out the back button must ask the server again.
    res.set('Cache-Control', 'no-store')
    if (req.method === 'GET') req.session.views += 1
    req.session.csrf ??= newToken()
    if (req.method === 'POST' && !hasValidCsrfToken(req)) {
      throw new HttpError(
        403,
        'Form rejected',
        'This form had no valid security token: it expired, or it came from another site. ' +
          'Go back, reload the page and try again.',
      )
    }
    next()
  })

  app.get('/', (req, res) => {
    render(req, res, 'Shop', views.shopPage({ products: PRODUCTS, csrf: req.session.csrf }))
  })

  app.get('/cart', (req, res) => {
    const lines = req.session.cart.map(({ sku, qty }) => {
      const product = findProduct(sku)
      return { sku, name: product.name, qty, lineCents: qty * product.priceCents }
    })
    const totalCents = lines.reduce((sum, l) => sum + l.lineCents, 0)
    render(req, res, 'Your cart', views.cartPage({ lines, totalCents, csrf: req.session.csrf }))
  })

  app.post('/cart/add', (req, res) => {
    const { sku } = findProduct(req.body?.sku)
    const qty = parseQty(req.body?.qty)
    const inCart = req.session.cart.some((l) => l.sku === sku)
    req.session.cart = inCart
      ? req.session.cart.map((l) =>
          l.sku === sku ? { sku, qty: Math.min(MAX_QTY, l.qty + qty) } : l,
        )
      : [...req.session.cart, { sku, qty }]
    req.flash('added', { sku, qty })
    res.redirect(303, '/')
  })

  app.post('/cart/update', (req, res) => {
    const { sku } = findProduct(req.body?.sku)
    const qty = parseQty(req.body?.qty)
    req.session.cart = req.session.cart.map((l) => (l.sku === sku ? { sku, qty } : l))
    res.redirect(303, '/cart')
  })

  app.post('/cart/remove', (req, res) => {
    const { sku } = findProduct(req.body?.sku)
    req.session.cart = req.session.cart.filter((l) => l.sku !== sku)
    res.redirect(303, '/cart')
  })

  app.get('/login', (req, res) => {
    if (req.user) return res.redirect('/account')
    const demoUsers = DEMO_USERS.map(({ username, password }) => ({ username, password }))
    render(req, res, 'Sign in', views.loginPage({ csrf: req.session.csrf, demoUsers }))
  })

  // Passport regenerates the session on login (a new id defeats session fixation);
  // `keepSessionInfo` carries the anonymous session's data over, so the cart survives.
  app.post(
    '/login',
    auth.authenticate('local', {
      failureRedirect: '/login',
      failureFlash: true,
      keepSessionInfo: true,
    }),
    (req, res) => {
      req.session.csrf = newToken() // a token seen before login must not outlive it
      req.flash('info', `Welcome, ${req.user.name}.`)
      res.redirect(303, '/account')
    },
  )

  // Destroying deletes the record and clears the cookie, so the old id (and login) is worthless.
  // A destroyed session cannot carry a flash: the next request, in a new session, queues it.
  app.post('/logout', async (req, res) => {
    await req.session.destroy()
    res.redirect(303, '/signed-out')
  })
  app.get('/signed-out', (req, res) => {
    if (!req.user) req.flash('info', 'You are signed out.')
    res.redirect(303, '/')
  })

  app.get('/account', (req, res) => {
    if (!req.user) {
      req.flash('error', 'Please sign in to see your account.')
      return res.redirect('/login')
    }
    render(req, res, 'Your account', views.accountPage({ user: req.user }))
  })

  app.get('/session', (req, res) => {
    const data = Object.fromEntries(
      Object.keys(SessionSchema.shape).map((k) => [k, req.session[k]]),
    )
    if (typeof data.csrf === 'string') data.csrf = shorten(data.csrf)
    const { expires } = req.session.cookie
    render(
      req,
      res,
      'Your session',
      views.sessionPage({
        id: shorten(req.sessionID),
        expires: expires ? new Date(expires).toISOString() : 'when the browser closes',
        data,
      }),
    )
  })

  app.use(() => {
    throw new HttpError(404, 'Page not found', 'There is no page at this address.')
  })

  // Bad input and failures get a page, never a stack trace; only server-side failures are logged.
  app.use((err, req, res, _next) => {
    const status = typeof err?.status === 'number' && err.status >= 400 ? err.status : 500
    if (status >= 500) log(err)
    const page =
      err instanceof HttpError
        ? err
        : status < 500
          ? { title: 'Bad request', message: 'The request could not be understood.' }
          : { title: 'Something went wrong', message: 'Please try again in a moment.' }
    res.set('Cache-Control', 'no-store')
    render(req, res, page.title, views.errorPage({ message: page.message }), status)
  })
  return app
}

/** Send a full page. Reading the flash messages here shows each one exactly once. */
function render(req, res, title, body, status = 200) {
  // No session when its own middleware failed (store down): render the page without one.
  const hasSession = typeof req.session?.views === 'number'
  const { error = [], info = [], added = [] } = hasSession ? req.flash() : {}
  const flashes = [
    ...error.map((text) => ({ kind: 'error', text })),
    ...info.map((text) => ({ kind: 'info', text })),
    ...added.map(({ sku, qty }) => ({
      kind: 'info',
      text: `Added ${qty} × ${PRODUCTS.find((p) => p.sku === sku)?.name ?? sku} to your cart.`,
    })),
  ]
  const cart = hasSession ? req.session.cart : []
  res
    .status(status)
    .type('html')
    .send(
      views.layout({
        title,
        body,
        user: req.user,
        cartCount: cart.reduce((n, l) => n + l.qty, 0),
        views: hasSession ? req.session.views : undefined,
        csrf: hasSession ? req.session.csrf : undefined,
        flashes,
      }),
    )
}

const shorten = (/** @type {string} */ value) => `${value.slice(0, 6)}…`

/** @param {unknown} sku */
function findProduct(sku) {
  const product = PRODUCTS.find((p) => p.sku === sku)
  if (!product) throw new HttpError(404, 'Unknown product', `There is no product "${String(sku)}".`)
  return product
}

/** @param {unknown} value @returns {number} */
function parseQty(value) {
  const qty = typeof value === 'string' && /^\d{1,2}$/.test(value) ? Number(value) : 0
  if (qty < 1 || qty > MAX_QTY) {
    throw new HttpError(
      400,
      'Invalid quantity',
      `Quantity must be a whole number from 1 to ${MAX_QTY}.`,
    )
  }
  return qty
}

async function main() {
  const secret = process.env.SESSION_SECRET || DEV_SECRET
  if (secret === DEV_SECRET) {
    const bar = '!'.repeat(78)
    console.warn(`\n${bar}\n!! WARNING: SESSION_SECRET is not set: using the PUBLIC development secret.
!! Anyone can forge session cookies. Set SESSION_SECRET to 32+ random characters, e.g.
!!   SESSION_SECRET=$(node -e "console.log(require('crypto').randomBytes(32).toString('hex'))")
${bar}\n`)
  }
  const { store, label, close } = await storeFromEnv()
  const server = createApp({ store, secret }).listen(Number(process.env.PORT ?? 3000), () => {
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : process.env.PORT
    console.log(`typed-session example: http://localhost:${port}  (session store: ${label})`)
  })
  server.on('error', (err) => {
    console.error(`Could not listen: ${err.message}`)
    process.exit(1)
  })
  const stop = () => server.close(() => close().finally(() => process.exit(0)))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  main().catch((err) => {
    console.error(`Could not start the example: ${err instanceof Error ? err.message : err}`)
    process.exit(1)
  })
}
