import type { FlashFunction, SessionMiddleware, TypedSession } from 'typed-session'

/*
 * Helpers shared by the tsd files. Only one app can fill `Register` per tsd run (express.test-d.ts
 * does), so the other files read the session and flash types straight off the middleware that
 * `session()` returned: the same types `req.session` / `req.flash` get once it is registered.
 */

/** The `req.session` type an app registered with middleware `TMiddleware` gets. */
export type SessionOf<TMiddleware> =
  TMiddleware extends SessionMiddleware<infer TData, infer _TFlash> ? TypedSession<TData> : never

/** The `req.flash` type an app registered with middleware `TMiddleware` gets. */
export type FlashOf<TMiddleware> =
  TMiddleware extends SessionMiddleware<infer _TData, infer TFlash> ? FlashFunction<TFlash> : never

/** A value of type `T` for type-level tests; never called at runtime (tsd only type-checks). */
export function value<T>(): T
