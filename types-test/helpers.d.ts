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

/**
 * `true` when the message `TMessage` contains `TText` exactly once. Keys of one kind are listed in
 * the compiler's union order, which differs between compilers, so tests of several keys assert
 * each part, not the whole string.
 */
export type MentionsOnce<
  TMessage,
  TText extends string,
> = TMessage extends `${string}${TText}${string}`
  ? TMessage extends `${string}${TText}${string}${TText}${string}`
    ? false
    : true
  : false
