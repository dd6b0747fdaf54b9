// The app the session-index tests drive (issue 12): passport's session shape, a device label,
// the account routes an app builds on listSessions / revokeSessions, and a slow route that holds
// a request (loaded before a revocation, writing after it) at a gate the test opens.
import express from 'express'
import { z } from 'zod'
import {
  isSessionError,
  type MemoryStore,
  nativeStore,
  type OwnerEpoch,
  type SessionEvent,
  type StoreOption,
  session,
} from '../../src/index.js'
import { listen, type TestServer } from '../helpers/http.js'
import { deferred } from '../security/support.js'

export const SECRET = 'session-index-tests-secret-0123456789abcdef'

export const schema = z.object({
  passport: z.object({ user: z.string().optional() }).optional(),
  device: z.string().optional(),
  visits: z.number().int().default(0),
})
type Data = z.output<typeof schema>

type Req = express.Request & {
  session: Data & {
    regenerate(options?: { keep?: string[] }): Promise<void>
    destroy(): Promise<void>
  }
  sessionID: string
}

export interface OwnerApp {
  readonly server: TestServer
  readonly url: string
  readonly events: SessionEvent[]
  readonly appSession: ReturnType<typeof makeSession>
  /** Requests of `/slow` that have loaded their session and wait at the gate. */
  readonly slow: { waiting: number; gate: ReturnType<typeof deferred> }
  close(): Promise<void>
}

export interface OwnerAppOptions {
  readonly store?: StoreOption
  readonly ownerEpoch?: (owner: string) => OwnerEpoch | Promise<OwnerEpoch>
  readonly maxAge?: number
  readonly rolling?: boolean
  /** Return a non-string owner (a JavaScript app passing passport's numeric id). */
  readonly numericOwner?: boolean
  /** What `/change-password` does to the owner's epoch before this device signs in again. */
  readonly bumpEpoch?: (owner: string) => void
}

function makeSession(options: OwnerAppOptions, events: SessionEvent[]) {
  return session({
    schema,
    secret: SECRET,
    ...(options.store === undefined ? {} : { store: options.store }),
    cookie: { maxAge: options.maxAge ?? 600_000 },
    rolling: options.rolling ?? false,
    owner: options.numericOwner
      ? (data) => (data.passport === undefined ? undefined : (42 as unknown as string))
      : (data) => data.passport?.user,
    sessionLabel: (data) => data.device,
    ...(options.ownerEpoch === undefined ? {} : { ownerEpoch: options.ownerEpoch }),
    onEvent: (event) => events.push(event),
  })
}

/** Start the app on a free loopback port. */
export async function startOwnerApp(options: OwnerAppOptions = {}): Promise<OwnerApp> {
  const events: SessionEvent[] = []
  const appSession = makeSession(options, events)
  const slow = { waiting: 0, gate: deferred() }
  const app = express()
  app.use(express.json())
  app.use(appSession)
  const user = (req: express.Request): string | undefined => (req as Req).session.passport?.user
  app.post('/login', async (req, res) => {
    const r = req as Req
    // What passport's req.login does: a new id for the signed-in session (fixation).
    await r.session.regenerate()
    r.session.passport = { user: String(req.query.user) }
    if (typeof req.query.device === 'string') r.session.device = req.query.device
    res.json({ ok: true })
  })
  app.get('/me', (req, res) => {
    res.json({ user: user(req) ?? null, visits: (req as Req).session.visits })
  })
  app.post('/visit', (req, res) => {
    ;(req as Req).session.visits++
    res.json({ visits: (req as Req).session.visits })
  })
  app.get('/slow', async (req, res) => {
    const r = req as Req
    slow.waiting++
    await slow.gate.promise
    r.session.visits += 100
    res.json({ user: user(req) ?? null })
  })
  app.get('/slow-regenerate', async (req, res, next) => {
    // Holds a signed-in session at the gate, then signs it in again keeping the login.
    slow.waiting++
    await slow.gate.promise
    try {
      await (req as Req).session.regenerate({ keep: ['passport'] })
      res.json({ user: user(req) ?? null })
    } catch (err) {
      next(err)
    }
  })
  app.get('/sessions', async (req, res) => {
    const owner = user(req)
    if (owner === undefined) return void res.status(401).end()
    res.json(await appSession.listSessions(owner, { current: (req as Req).sessionID }))
  })
  app.post('/sign-out-others', async (req, res) => {
    const owner = user(req)
    if (owner === undefined) return void res.status(401).end()
    res.json({ ended: await appSession.revokeSessions(owner, { except: (req as Req).sessionID }) })
  })
  app.post('/revoke-one', async (req, res) => {
    const owner = user(req)
    if (owner === undefined) return void res.status(401).end()
    res.json({ ended: await appSession.revokeSession(owner, String(req.query.handle)) })
  })
  app.post('/change-password', async (req, res) => {
    // Django's update_session_auth_hash: the new epoch ends every other session, and this device
    // signs in again under it (regenerate takes the epoch anew).
    const owner = user(req)
    if (owner !== undefined) options.bumpEpoch?.(owner)
    await (req as Req).session.regenerate({ keep: ['passport', 'device'] })
    res.json({ ok: true })
  })
  app.post('/forget-user', (req, res) => {
    // Logout without destroy: the owner goes away from the data.
    delete (req as Req).session.passport
    res.json({ ok: true })
  })
  app.post('/logout', async (req, res) => {
    await (req as Req).session.destroy()
    res.json({ ok: true })
  })
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(isSessionError(err) ? err.status : 500).json({
        error: isSessionError(err) ? err.code : String(err),
      })
    },
  )
  const server = await listen(app)
  return {
    server,
    url: server.url,
    events,
    appSession,
    slow,
    close: () => server.close(),
  }
}

/**
 * A second view of one MemoryStore, as another process sees a shared store: its own object, so a
 * middleware on it has its own in-process registry and only the store connects the two.
 */
export function otherProcessView(memory: MemoryStore): StoreOption {
  return {
    [nativeStore]: true,
    get: (id: string) => memory.get(id),
    set: (id: string, record: Parameters<MemoryStore['set']>[1]) => memory.set(id, record),
    destroy: (id: string) => memory.destroy(id),
    touch: (id: string, record: Parameters<MemoryStore['touch']>[1]) => memory.touch(id, record),
    patch: (id: string, patch: Parameters<MemoryStore['patch']>[1]) => memory.patch(id, patch),
    indexedIds: (owner: string) => memory.indexedIds(owner),
  } as StoreOption
}
