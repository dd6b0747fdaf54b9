import type { IncomingMessage, ServerResponse } from 'node:http'
import type { NextFunction, Request, RequestHandler, Response } from 'express-serve-static-core'
import type { TypedSession } from './core/session-type.js'
import type { IsUnion } from './schema/check.js'
import type { WithExtensions } from './schema/extension.js'
import type { SessionStore } from './stores/types.js'

/**
 * Fill this interface once to type `req.session` and `req.flash` in every handler:
 *
 * ```ts
 * const appSession = session({ schema, secret })
 * declare module 'typed-session' {
 *   interface Register { session: typeof appSession }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by users through declaration merging
export interface Register {}

/** The middleware `session()` returns; it carries the data and flash types for {@link Register}. */
export interface SessionMiddleware<TData, TFlashValues> {
  /*
   * Express's handler shape first: `app.use(appSession)` then matches Express's `RequestHandler`
   * by its type arguments, where the plain node signature alone makes the compiler infer them
   * structurally from `IncomingMessage` (about 900 type instantiations, issue 14). The node
   * signature is for Express 4 and bare `node:http` servers.
   */
  (req: Request, res: Response, next: NextFunction): void
  (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void
  /** The store this middleware uses (the native view of it). */
  readonly store: SessionStore
  /** Type carrier only; never set at runtime. */
  readonly '~types'?: { readonly data: TData; readonly flash: TFlashValues } | undefined
}

/**
 * What `session()` adds to its middleware to reach its own session on a request, typed from its
 * own schema, without `Register`: the way to type sessions without declaration merging, and to run
 * several session middlewares on one app (an admin area with its own cookie, options and store).
 * A separate interface from {@link SessionMiddleware}, so that any middleware stays assignable to
 * `SessionMiddleware<unknown, unknown>`.
 */
export interface SessionAccess<TData, TFlashValues> {
  /**
   * This middleware's session on `req`, typed from this middleware's schema. The first session
   * middleware on a request is also `req.session`; another one is reached only through its own
   * `of(req)` (or {@link SessionAccess.handler}), so two never see each other's data.
   * @throws `ERR_SESSION_MISUSE` when this middleware has not run for `req` (not mounted before the
   * handler, or its `cookie.path` does not match)
   * @example
   * ```ts
   * const admin = session({ name: 'admin.sid', schema: adminSchema, secret, store: adminStore })
   * app.use('/admin', admin)
   * app.get('/admin', (req, res) => res.send(admin.of(req).role))
   * ```
   */
  of(req: IncomingMessage): TypedSession<TData>
  /** This middleware's `req.flash` on `req` (see {@link SessionAccess.of}). */
  flashOf(req: IncomingMessage): FlashFunction<TFlashValues>
  /**
   * Wrap an Express handler so that its `req.session`, `req.sessionID` and `req.flash` are this
   * middleware's, typed from its schema (React Router's `createSessionStorage<Data, Flash>()`,
   * as a handler). A thrown error or rejected promise goes to `next`.
   * @example
   * ```ts
   * app.get('/admin', admin.handler((req, res) => res.send(req.session.role)))
   * ```
   */
  handler(
    fn: (
      req: RequestWithSession<TData, TFlashValues>,
      res: Response,
      next: NextFunction,
    ) => unknown,
  ): RequestHandler
}

/**
 * Express's `Request` with the `session`, `sessionID` and `flash` of one session middleware, as
 * {@link SessionAccess.handler} hands it over (whatever `Register` says).
 */
export type RequestWithSession<TData, TFlashValues> = Omit<
  Request,
  'session' | 'sessionID' | 'flash'
> & {
  /** This middleware's session. Assign `null` to drop it for this response (see `unset`). */
  get session(): TypedSession<TData>
  set session(value: TypedSession<TData> | null | undefined)
  /** This middleware's session id. */
  readonly sessionID: string
  /** This middleware's typed flash messages. */
  flash: FlashFunction<TFlashValues>
}

/**
 * `req.flash` in connect-flash's call shapes: queue a message (returns the queue length), take
 * the messages of one kind, or take them all. Taking removes them.
 */
export interface FlashFunction<TFlashValues> {
  /*
   * A kind typed as a union (`kind as 'success' | 'formErrors'`) would accept any of the kinds'
   * values for any of them, and the wrong pairing throws at run time: one kind per call.
   */
  <TKind extends keyof TFlashValues & string>(
    kind: TKind,
    value: IsUnion<TKind> extends true
      ? 'typed-session: pass one flash kind per call, not a union of kinds'
      : TFlashValues[TKind],
  ): number
  <TKind extends keyof TFlashValues & string>(kind: TKind): TFlashValues[TKind][]
  (): { [TKind in keyof TFlashValues]?: TFlashValues[TKind][] }
}

type Registered = Register extends { session: SessionMiddleware<infer TData, infer TFlash> }
  ? { data: TData; flash: TFlash }
  : { data: WithExtensions<Record<string, unknown>>; flash: Record<string, unknown> }

/** The registered session data type (a loose record when nothing is registered). */
export type RegisteredData = Registered['data']
/** The registered flash message types (a loose record when nothing is registered). */
export type RegisteredFlash = Registered['flash']
/** The type of `req.session` in handlers. */
export type RegisteredSession = TypedSession<RegisteredData>
