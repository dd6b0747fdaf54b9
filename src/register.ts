import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TypedSession } from './core/session-type.js'
import type { IsUnion } from './schema/check.js'
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
  (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void
  /** The store this middleware uses (the native view of it). */
  readonly store: SessionStore
  /** Type carrier only; never set at runtime. */
  readonly '~types'?: { readonly data: TData; readonly flash: TFlashValues } | undefined
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
  : { data: Record<string, unknown>; flash: Record<string, unknown> }

/** The registered session data type (a loose record when nothing is registered). */
export type RegisteredData = Registered['data']
/** The registered flash message types (a loose record when nothing is registered). */
export type RegisteredFlash = Registered['flash']
/** The type of `req.session` in handlers. */
export type RegisteredSession = TypedSession<RegisteredData>
