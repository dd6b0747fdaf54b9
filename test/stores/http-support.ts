// A small real Express 5 app over a given store, shared by the HTTP-level store tests.
import type { IncomingMessage, ServerResponse } from 'node:http'
import express from 'express'
import { z } from 'zod'
import { isSessionError, type SessionEvent, session } from '../../src/index.js'
import type { StoreOption } from '../../src/options.js'
import { CookieClient, listen, type TestServer } from '../helpers/http.js'

export const SECRET = 'typed-session-store-tests-secret-0123456789'
export const MAX_AGE_MS = 600_000

/** A live `cookie` object for records planted straight into a store, as a save would write it. */
export function plantedCookie(): {
  originalMaxAge: number
  expires: string
  httpOnly: true
  path: '/'
} {
  return {
    originalMaxAge: MAX_AGE_MS,
    expires: new Date(Date.now() + MAX_AGE_MS).toISOString(),
    httpOnly: true,
    path: '/',
  }
}

/** The app's schema: every planted record is checked against it by the core. */
export const schema = z.object({
  userId: z.string().optional(),
  views: z.number().int().default(0),
  role: z.enum(['user', 'admin']).default('user'),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int() })).default([]),
})
type Data = z.output<typeof schema>

type Session = Data & { destroy(): Promise<void> }

/** What `GET /data` answers: the data the handler saw, and what a defect would show. */
export interface Snapshot {
  readonly data: Data
  readonly keys: string[]
  readonly valid: boolean
  readonly prototypePolluted: boolean
}

export interface AppOptions {
  readonly rolling?: boolean
  readonly storeTimeoutMs?: number
  readonly maxSessionBytes?: number
  readonly onEvent?: (event: SessionEvent) => void
}

/**
 * Start an Express 5 app with `session({ schema, secret, store })`. Routes: `POST /login?user=`,
 * `POST /views`, `POST /cart?sku=`, `POST /logout`, `GET /data` (read-only), `GET /health`
 * (outside the session). Store failures reach the error handler through `next` and answer 503
 * with the error code.
 */
export async function startApp(store: StoreOption, options: AppOptions = {}): Promise<TestServer> {
  const app = express()
  app.get('/health', (_req, res) => {
    res.send('ok')
  })
  app.use(
    session({
      schema,
      secret: SECRET,
      store,
      cookie: { maxAge: MAX_AGE_MS },
      rolling: options.rolling ?? false,
      storeTimeout: options.storeTimeoutMs ?? 5000,
      ...(options.maxSessionBytes === undefined
        ? {}
        : { maxSessionBytes: options.maxSessionBytes }),
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    }),
  )
  const sessionOf = (req: IncomingMessage): Session =>
    (req as unknown as { session: Session }).session
  app.post('/login', (req, res) => {
    const s = sessionOf(req)
    s.userId = String(new URL(req.url ?? '/', 'http://x').searchParams.get('user'))
    s.views++
    res.json(snapshot(s))
  })
  app.post('/views', (req, res) => {
    const s = sessionOf(req)
    s.views++
    res.json(snapshot(s))
  })
  app.post('/cart', (req, res) => {
    const s = sessionOf(req)
    s.cart.push({
      sku: String(new URL(req.url ?? '/', 'http://x').searchParams.get('sku')),
      qty: 1,
    })
    res.json(snapshot(s))
  })
  app.post('/logout', async (req, res, next) => {
    try {
      await sessionOf(req).destroy()
      res.json({ ok: true })
    } catch (err) {
      next(err)
    }
  })
  app.get('/data', (req, res) => {
    res.json(snapshot(sessionOf(req)))
  })
  app.use((err: unknown, _req: IncomingMessage, res: ServerResponse, _next: unknown) => {
    res.statusCode = isSessionError(err) ? err.status : 500
    res.end(isSessionError(err) ? `${err.code}: ${err.message}` : `unexpected: ${String(err)}`)
  })
  return listen(app)
}

function snapshot(s: Session): Snapshot {
  const data: Data = { views: s.views, role: s.role, cart: s.cart }
  if (s.userId !== undefined) data.userId = s.userId
  return {
    data,
    keys: Object.keys(s).sort(),
    valid: schema.safeParse(s).success,
    prototypePolluted:
      ({} as Record<string, unknown>).role !== undefined ||
      ({} as Record<string, unknown>).polluted !== undefined,
  }
}

/** The session id inside the signed `sid` cookie a client holds. */
export function sessionIdOf(client: CookieClient): string {
  const value = client.cookies.get('sid')
  if (value === undefined) throw new Error('the client holds no sid cookie')
  const decoded = decodeURIComponent(value)
  if (!decoded.startsWith('s:')) throw new Error(`unexpected cookie value ${decoded}`)
  return decoded.slice(2, decoded.lastIndexOf('.'))
}

/** Parse a JSON response body as a {@link Snapshot}. */
export function snapshotOf(body: string): Snapshot {
  return JSON.parse(body) as Snapshot
}

/** A new cookie client for `server`. */
export function clientFor(server: TestServer): CookieClient {
  return new CookieClient(server.url)
}

/** Copy every cookie of `from` into `to` (one browser talking to two app servers). */
export function shareCookies(from: CookieClient, to: CookieClient): void {
  to.cookies.clear()
  for (const [name, value] of from.cookies) to.cookies.set(name, value)
}

/** A fresh session as the schema makes it. */
export const FRESH: Data = { views: 0, role: 'user', cart: [] }
