import type { IncomingMessage } from 'node:http'
import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { CookieOption } from './cookie/types.js'
import type { SessionEvent } from './core/events.js'
import type { SessionIssue } from './errors.js'
import type { FlashOption } from './schema/check.js'
import type { SessionExtension } from './schema/extension.js'
import type { SessionStore } from './stores/types.js'

/**
 * What `onInvalid` may be: `'fresh'` (a new, empty session), `'error'` (an `ERR_SESSION_INVALID`
 * error to `next`), or a repair function.
 */
export type InvalidPolicy = 'fresh' | 'error' | InvalidRepair

/**
 * Receives a stored record that failed the schema (without its `cookie` and `flash`) and the
 * validation issues. Return repaired data to keep the session (it is validated again, and saved),
 * or `undefined` to start a fresh session. This is how old session shapes are migrated.
 */
export type InvalidRepair = (
  record: Readonly<Record<string, unknown>>,
  issues: readonly SessionIssue[],
) => unknown

/** Anything express-session accepts as a store: a native {@link SessionStore} or a callback store. */
export type StoreOption = SessionStore | ExpressSessionStoreLike

/** The callback store contract of express-session (connect-redis, connect-pg-simple, ...). */
export interface ExpressSessionStoreLike {
  get(id: string, callback: (err: unknown, session?: unknown) => void): unknown
  set(id: string, session: unknown, callback?: (err?: unknown) => void): unknown
  destroy(id: string, callback?: (err?: unknown) => void): unknown
  touch?(id: string, session: unknown, callback?: (err?: unknown) => void): unknown
  on?(event: string, listener: (...args: unknown[]) => void): unknown
}

/**
 * Options of {@link session}. Names and meanings follow express-session; defaults are the safe ones.
 * `TSchema` is unconstrained so that `session()` can put its compile-time check there (the schema,
 * or a message saying what is wrong with it).
 */
export interface SessionOptions<
  TSchema = StandardSchemaV1,
  TFlash extends FlashOption = Readonly<Record<string, StandardSchemaV1>>,
  TExtension extends string = string,
> {
  /**
   * The session schema: a zod 4 object, or any Standard Schema whose output is an object. Every
   * record loaded from the store is validated with it; a new session is its parse of `{}`.
   */
  schema: TSchema
  /**
   * The secret that signs the session id cookie, or a list: the first signs, all verify (rotate by
   * putting the new secret first). A secret is a string or a `Buffer` (as express-session takes
   * them). In production each must be at least 32 characters (or bytes). The list is read on every
   * request, so changing the array rotates at once; a removed secret stops verifying at once.
   */
  secret: string | Buffer | readonly (string | Buffer)[]
  /**
   * Cookie name. Use `'connect.sid'` to keep the cookies of an express-session app valid.
   * @default 'sid'
   */
  name?: string | undefined
  /** Cookie settings, or a function of the request returning them (called for new sessions). */
  cookie?: CookieOption | undefined
  /**
   * The schema fragments of the plugins that add keys to every session (their
   * `sessionExtension()`s; see `SessionExtensions`). Each stored record is validated against the
   * schema and every fragment. The compiler names a plugin key whose fragment is missing here.
   */
  extensions?: readonly SessionExtension<TExtension>[] | undefined
  /** Typed flash messages: one schema per message kind. */
  flash?: TFlash | undefined
  /**
   * Where sessions live: a native store or any express-session store.
   * @default a new {@link MemoryStore}
   */
  store?: StoreOption | undefined
  /**
   * Makes a new session id. Must return a string of 16 to 256 characters from `A-Z a-z 0-9 _ -`.
   * @default 24 random bytes from the CSPRNG, base64url (32 characters, 192 bits)
   */
  genid?: ((req: IncomingMessage) => string) | undefined
  /**
   * Trust `X-Forwarded-Proto` when deciding whether the request is secure. `undefined` follows
   * Express's `trust proxy` setting (`req.secure`).
   */
  proxy?: boolean | undefined
  /** Save unchanged sessions too. @default false */
  resave?: boolean | undefined
  /** Send the cookie (and refresh the expiry) on every response. @default false */
  rolling?: boolean | undefined
  /** Save and send a cookie for new sessions that were not changed. @default false */
  saveUninitialized?: boolean | undefined
  /**
   * What `delete req.session` (or `req.session = null`) means: `'destroy'` the session or `'keep'`
   * it as it was in the store. @default 'keep'
   */
  unset?: 'destroy' | 'keep' | undefined
  /** What a stored record that fails the schema becomes. @default 'fresh' */
  onInvalid?: InvalidPolicy | undefined
  /**
   * Receives security and lifecycle events (invalid signature, unknown id, invalid data, expiry,
   * store errors). Events carry a salted hash of the id, never the id or a secret.
   */
  onEvent?: ((event: SessionEvent) => void) | undefined
  /**
   * Milliseconds a store call may take before the request fails with `ERR_SESSION_STORE`.
   * @default 5000
   */
  storeTimeout?: number | undefined
  /**
   * Absolute session lifetime in milliseconds, counted from creation, however active the session
   * is (OWASP: absolute timeout). Idle expiry stays `cookie.maxAge` (+ `rolling`). Off by default.
   */
  absoluteTimeout?: number | undefined
  /**
   * Largest session record, in bytes of JSON, that is loaded or saved. A larger record is refused
   * (`ERR_SESSION_TOO_LARGE` on save, `onInvalid` on load, whether the store returns a string or
   * an object) and reported with a `too_large` event carrying the size. @default 65536
   */
  maxSessionBytes?: number | undefined
  /**
   * Persist session changes made by a request that ends with a 5xx status. Off by default, as in
   * Django: a failed request should not leave half its changes behind. @default false
   */
  saveOnServerError?: boolean | undefined
  /** Allow the in-process memory store when `NODE_ENV=production` without a warning. */
  allowMemoryStoreInProduction?: boolean | undefined
}
