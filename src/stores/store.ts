import { EventEmitter } from 'node:events'

/** A Node-style callback, as express-session stores use them. */
export type StoreCallback<T = void> = (err: unknown, value?: T) => void

/**
 * The express-session `Store` base class, re-created so store packages written for express-session
 * find it on typed-session (`require('connect-pg-simple')({ Store })` reads `Store`). It is an
 * `EventEmitter` (stores emit `connect` / `disconnect`) and carries the helpers express-session's
 * base class has: {@link Store.load}, {@link Store.regenerate}, {@link Store.createSession}.
 *
 * Subclasses implement `get(id, cb)`, `set(id, session, cb)`, `destroy(id, cb)` and optionally
 * `touch`, `all`, `length`, `clear` (or the native Promise contract of `SessionStore`).
 */
export interface Store extends EventEmitter {
  /**
   * express-session's helper: destroy the session of `req` and call `fn`. When express-session's
   * middleware attached a `generate` function to the store it is called too; typed-session never
   * calls this method itself (use `req.session.regenerate()`).
   */
  regenerate(req: { sessionID: string }, fn: (err?: unknown) => void): void
  /**
   * express-session's helper: `get` the record under `sid` and pass it to `fn` with
   * `cookie.expires` as a `Date` (or nothing when there is no record).
   */
  load(sid: string, fn: StoreCallback<Record<string, unknown> | undefined>): void
  /**
   * express-session's helper: turn a stored record into the session of `req`. Under express-session's
   * middleware this builds express-session's own `Session` (as its `Store` does); otherwise it only
   * revives `cookie.expires` as a `Date`, sets `req.session`, and returns the record.
   */
  createSession(
    req: { session?: unknown; sessionID?: string; sessionStore?: unknown },
    sess: Record<string, unknown> & { cookie?: unknown },
  ): Record<string, unknown>
}

/**
 * The `Store` constructor: both `class MyStore extends Store {}` and the old style
 * `function MyStore(options) { Store.call(this, options) }` + `util.inherits(MyStore, Store)` work,
 * as with express-session (memorystore, connect-session-knex and others use the old style).
 */
export interface StoreConstructor {
  /** Create a store; `options` is accepted and ignored (subclasses read their own). */
  new (options?: unknown): Store
  /** Initialise `this` as a store from an old-style constructor: `Store.call(this)`. */
  (this: unknown, options?: unknown): void
  /** The shared prototype (an `EventEmitter` prototype plus the helpers). */
  readonly prototype: Store
}

/**
 * Base class for session stores, compatible with express-session's `Store`.
 *
 * @example
 * ```ts
 * import connectPgSimple from 'connect-pg-simple'
 * import * as typedSession from 'typed-session'
 * const PgStore = connectPgSimple(typedSession) // reads typedSession.Store
 * ```
 */
export const Store: StoreConstructor = function Store(this: unknown): void {
  // A plain function, not a `class`: an ES class cannot be invoked with `.call(this)`, and old-style
  // store constructors (`Store.call(this, options)`) must keep working. `extends` works on both.
  EventEmitter.call(this as EventEmitter)
} as unknown as StoreConstructor

Object.setPrototypeOf(Store.prototype, EventEmitter.prototype)
Object.setPrototypeOf(Store, EventEmitter)

type Constructor = new (...args: unknown[]) => unknown

interface ExpressSessionClasses {
  readonly Session: Constructor
  /** `new Cookie(data)`, rebuilt from its prototype: express-session's `Cookie.prototype` has no `constructor`. */
  readonly cookie: (data: object) => object
}

// Keyed by the `generate` function express-session's middleware puts on the store.
const classesByGenerate = new WeakMap<Function, ExpressSessionClasses | null>()

/**
 * express-session's `Session` and `Cookie` classes, when express-session's middleware uses this
 * store (it sets `store.generate`). typed-session never imports express-session: the classes are
 * read from one session `generate` makes on a throw-away object inheriting from `req`.
 */
function expressSessionClasses(
  store: CallbackGetter,
  req: object,
): ExpressSessionClasses | undefined {
  const generate = store.generate
  if (typeof generate !== 'function') return undefined
  let classes = classesByGenerate.get(generate)
  if (classes === undefined) {
    const probe = Object.create(req) as {
      session?: { constructor?: unknown; cookie?: { constructor?: unknown } }
    }
    try {
      generate.call(store, probe)
    } catch {
      // A genid that cannot run on the probe: fall back to plain records.
    }
    const Session = probe.session?.constructor
    const cookieProto = probe.session?.cookie ? Object.getPrototypeOf(probe.session.cookie) : null
    classes =
      typeof Session === 'function' &&
      Session !== Object &&
      cookieProto !== null &&
      cookieProto !== Object.prototype
        ? {
            Session: Session as Constructor,
            cookie: (data) => reviveCookie(cookieProto as object, data),
          }
        : null
    classesByGenerate.set(generate, classes)
  }
  return classes ?? undefined
}

/** What express-session's `Cookie` constructor does: defaults, then every option through its setters. */
function reviveCookie(proto: object, data: object): object {
  const cookie = Object.create(proto) as Record<string, unknown>
  cookie.path = '/'
  cookie.maxAge = null
  cookie.httpOnly = true
  for (const [key, value] of Object.entries(data)) {
    if (key !== 'data' && key !== '__proto__') cookie[key] = value
  }
  if (cookie.originalMaxAge === undefined || cookie.originalMaxAge === null)
    cookie.originalMaxAge = cookie.maxAge
  return cookie
}

interface CallbackGetter {
  get(sid: string, fn: StoreCallback<unknown>): unknown
  destroy(sid: string, fn: (err?: unknown) => void): unknown
  generate?: (req: unknown) => void
}

Object.defineProperties(Store.prototype, {
  regenerate: {
    configurable: true,
    writable: true,
    value: function regenerate(
      this: Store & CallbackGetter,
      req: { sessionID: string },
      fn: (err?: unknown) => void,
    ): void {
      this.destroy(req.sessionID, (err?: unknown) => {
        this.generate?.(req)
        fn(err)
      })
    },
  },
  load: {
    configurable: true,
    writable: true,
    value: function load(
      this: Store & CallbackGetter,
      sid: string,
      fn: StoreCallback<Record<string, unknown> | undefined>,
    ): void {
      this.get(sid, (err, sess) => {
        if (err) return fn(err)
        if (!sess) return fn(null)
        const record = typeof sess === 'string' ? (JSON.parse(sess) as unknown) : sess
        fn(
          null,
          this.createSession(
            { sessionID: sid, sessionStore: this },
            record as Record<string, unknown>,
          ),
        )
      })
    },
  },
  createSession: {
    configurable: true,
    writable: true,
    value: function createSession(
      this: Store & CallbackGetter,
      req: { session?: unknown; sessionID?: string; sessionStore?: unknown },
      sess: Record<string, unknown> & { cookie?: unknown },
    ): Record<string, unknown> {
      const cookie = sess.cookie as { expires?: unknown; originalMaxAge?: unknown } | undefined
      const classes = expressSessionClasses(this, req)
      if (classes !== undefined && cookie !== undefined && cookie !== null) {
        // What express-session's own Store#createSession does, with its own classes, so a store
        // extending this base (our MemoryStore included) works under express-session unchanged.
        const { expires, originalMaxAge } = cookie
        const revived = classes.cookie(cookie) as { expires?: unknown; originalMaxAge?: unknown }
        if (typeof expires === 'string') revived.expires = new Date(expires)
        revived.originalMaxAge = originalMaxAge
        sess.cookie = revived
        const session = new classes.Session(req, sess) as Record<string, unknown>
        req.session = session
        return session
      }
      if (cookie && typeof cookie.expires === 'string') cookie.expires = new Date(cookie.expires)
      req.session = sess
      return sess
    },
  },
})
