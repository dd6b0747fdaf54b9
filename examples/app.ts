// typed-session example: a small shop with a visit counter, a cart, Passport login, CSRF tokens and
// typed flash messages, all kept in one schema-validated session (see session.ts). Run it with
// `npm start`. REDIS_URL or DATABASE_URL switch the store; PORT and SESSION_SECRET are read from the
// environment.
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import express, { type ErrorRequestHandler, type Request, type Response } from 'express'
import { isSessionError, MemoryStore, type StoreOption } from 'typed-session'
import { createPassport, type DemoUser, hasValidCsrfToken, newToken } from './auth.js'
import { MAX_QTY, SessionSchema, shopSession } from './session.js'
import { storeFromEnv } from './stores.js'
import * as views from './views.js'

export const PRODUCTS: readonly views.Product[] = [
  { sku: 'tea', name: 'Green tea, 100 g', priceCents: 650 },
  { sku: 'mug', name: 'Stoneware mug', priceCents: 1400 },
  { sku: 'beans', name: 'Coffee beans, 250 g', priceCents: 990 },
  { sku: 'biscuits', name: 'Oat biscuits', priceCents: 350 },
]

/** Demo accounts; only scrypt hashes of the passwords are kept (made at startup). */
export const DEMO_USERS: readonly DemoUser[] = [
  { id: 'u1', username: 'alice', name: 'Alice', password: 'wonderland' },
  { id: 'u2', username: 'bob', name: 'Bob', password: 'builder' },
]

/** Used when SESSION_SECRET is not set; main() warns loudly about it. */
export const DEV_SECRET = 'typed-session-example-development-secret-not-for-production'

/** An error that becomes a page with this status (the error handler renders it). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message)
  }
}

/** What tests inject; main() below reads the environment instead. */
export interface AppOptions {
  readonly store?: StoreOption
  readonly secret?: string | string[]
  readonly logError?: (err: unknown) => void
}

/** The form fields the shop's POST routes read. */
interface CartForm {
  readonly sku?: unknown
  readonly qty?: unknown
}

/** Build the Express app. */
export function createApp({
  store = new MemoryStore(),
  secret = DEV_SECRET,
  logError = (err) => console.error(err),
}: AppOptions = {}): express.Express {
  const auth = createPassport(DEMO_USERS)
  const app = express()
  app.disable('x-powered-by')
  // Answered before the session, so the browser's favicon request neither counts as a visit nor
  // creates a session.
  app.get('/favicon.ico', (_req, res) => {
    res.status(204).end()
  })
  const appSession = shopSession({ store, secret })
  app.use(appSession)
  app.use(express.urlencoded({ extended: false, limit: '4kb' }))
  app.use(auth.initialize(), auth.session())
  app.use((req, res, next) => {
    // Every page shows session data (the user's name, the cart), so no page may be stored by the
    // browser cache: after sign-out the back button must ask the server again.
    res.set('Cache-Control', 'no-store')
    if (req.method === 'GET') req.session.views += 1 // a number: the schema defaults it to 0
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
    render(req, res, 'Shop', views.shopPage({ products: PRODUCTS, csrf: csrfOf(req) }))
  })

  app.get('/cart', (req, res) => {
    const lines = req.session.cart.map(({ sku, qty }) => {
      const product = findProduct(sku)
      return { sku, name: product.name, qty, lineCents: qty * product.priceCents }
    })
    const totalCents = lines.reduce((sum, l) => sum + l.lineCents, 0)
    render(req, res, 'Your cart', views.cartPage({ lines, totalCents, csrf: csrfOf(req) }))
  })

  app.post('/cart/add', (req: Request<unknown, unknown, CartForm>, res) => {
    const { sku } = findProduct(req.body?.sku)
    const qty = parseQty(req.body?.qty)
    const inCart = req.session.cart.some((l) => l.sku === sku)
    req.session.cart = inCart
      ? req.session.cart.map((l) =>
          l.sku === sku ? { sku, qty: Math.min(MAX_QTY, l.qty + qty) } : l,
        )
      : [...req.session.cart, { sku, qty }]
    req.flash('added', { sku, qty }) // typed: FlashSchema.added
    res.redirect(303, '/')
  })

  app.post('/cart/update', (req: Request<unknown, unknown, CartForm>, res) => {
    const { sku } = findProduct(req.body?.sku)
    const qty = parseQty(req.body?.qty)
    req.session.cart = req.session.cart.map((l) => (l.sku === sku ? { sku, qty } : l))
    res.redirect(303, '/cart')
  })

  app.post('/cart/remove', (req: Request<unknown, unknown, CartForm>, res) => {
    const { sku } = findProduct(req.body?.sku)
    req.session.cart = req.session.cart.filter((l) => l.sku !== sku)
    res.redirect(303, '/cart')
  })

  app.get('/login', (req, res) => {
    if (req.user) return res.redirect('/account')
    const demoUsers = DEMO_USERS.map(({ username, password }) => ({ username, password }))
    render(req, res, 'Sign in', views.loginPage({ csrf: csrfOf(req), demoUsers }))
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
      req.session.device = deviceLabel(req.get('user-agent')) // names it in the session list
      req.flash('info', `Welcome, ${req.user?.name ?? 'back'}.`)
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

  app.get('/account', async (req, res) => {
    if (!req.user) {
      req.flash('error', 'Please sign in to see your account.')
      return res.redirect('/login')
    }
    // The user's signed-in sessions, this one marked. A store without a session index
    // (connect-redis, connect-pg-simple) cannot list them: the page says so instead.
    let sessions: views.SignedInSession[] | undefined
    try {
      sessions = await appSession.listSessions(req.user.id, { current: req.sessionID })
    } catch (err) {
      if (!(isSessionError(err) && err.code === 'ERR_SESSION_NO_INDEX')) throw err
    }
    render(
      req,
      res,
      'Your account',
      views.accountPage({ user: req.user, sessions, csrf: csrfOf(req) }),
    )
  })

  // "Sign out other devices": every other session of this user ends, in every process.
  app.post('/account/sessions/sign-out-others', async (req, res) => {
    if (!req.user) return res.redirect(303, '/login')
    const ended = await appSession.revokeSessions(req.user.id, { except: req.sessionID })
    req.flash('info', `Signed out of ${ended} other ${ended === 1 ? 'session' : 'sessions'}.`)
    res.redirect(303, '/account')
  })

  // One listed session, named by its handle (never its id); only the user's own sessions.
  app.post(
    '/account/sessions/revoke',
    async (req: Request<unknown, unknown, { handle?: unknown }>, res) => {
      if (!req.user) return res.redirect(303, '/login')
      const handle = typeof req.body?.handle === 'string' ? req.body.handle : ''
      const ended = await appSession.revokeSession(req.user.id, handle)
      req.flash('info', ended ? 'That session is signed out.' : 'That session had already ended.')
      res.redirect(303, '/account')
    },
  )

  app.get('/session', (req, res) => {
    const data: Record<string, unknown> = Object.fromEntries(
      Object.keys(SessionSchema.shape).map((k) => [k, req.session[k as keyof typeof req.session]]),
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
  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    const status = statusOf(err)
    if (status >= 500) logError(err)
    const page =
      err instanceof HttpError
        ? err
        : status < 500
          ? { title: 'Bad request', message: 'The request could not be understood.' }
          : { title: 'Something went wrong', message: 'Please try again in a moment.' }
    res.set('Cache-Control', 'no-store')
    render(req, res, page.title, views.errorPage({ message: page.message }), status)
  }
  app.use(onError)
  return app
}

/** Send a full page. Reading the flash messages here shows each one exactly once. */
function render(req: Request, res: Response, title: string, body: views.Html, status = 200): void {
  // No session when its own middleware failed (store down): render the page without one.
  const hasSession = typeof req.session?.views === 'number'
  const { error = [], info = [], added = [] } = hasSession ? req.flash() : {}
  const flashes: views.Flash[] = [
    ...error.map((text) => ({ kind: 'error' as const, text })),
    ...info.map((text) => ({ kind: 'info' as const, text })),
    ...added.map(({ sku, qty }) => ({
      kind: 'info' as const,
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

/** The CSRF token the forms of this page post back (set by the middleware above). */
const csrfOf = (req: Request): string => req.session.csrf ?? ''

/** Browser and system names by User-Agent pattern, first match wins (Edge says "Chrome" too). */
const BROWSERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Edg\//, 'Edge'],
  [/Firefox\//, 'Firefox'],
  [/Chrom(e|ium)\//, 'Chrome'],
  [/Safari\//, 'Safari'],
]
const SYSTEMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Android/, 'Android'],
  [/iPhone|iPad/, 'iOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X/, 'macOS'],
  [/Linux/, 'Linux'],
]

/** "Firefox on Linux" from a User-Agent header: enough to tell one's devices apart. */
function deviceLabel(userAgent: string | undefined): string {
  const ua = userAgent ?? ''
  const browser = BROWSERS.find(([pattern]) => pattern.test(ua))?.[1] ?? 'A browser'
  const system = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1] ?? 'an unknown system'
  return `${browser} on ${system}`
}

const shorten = (value: string): string => `${value.slice(0, 6)}…`

/** The HTTP status an error asks for: its own 4xx/5xx `status` (typed-session's errors have one). */
function statusOf(err: unknown): number {
  const status = (err as { status?: unknown } | null)?.status
  return typeof status === 'number' && status >= 400 ? status : 500
}

function findProduct(sku: unknown): views.Product {
  const product = PRODUCTS.find((p) => p.sku === sku)
  if (!product) throw new HttpError(404, 'Unknown product', `There is no product "${String(sku)}".`)
  return product
}

function parseQty(value: unknown): number {
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

async function main(): Promise<void> {
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
  const stop = (): void => {
    server.close(() => {
      close().finally(() => process.exit(0))
    })
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`Could not start the example: ${err instanceof Error ? err.message : err}`)
    process.exit(1)
  })
}
