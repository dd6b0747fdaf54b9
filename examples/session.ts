// The session of the example shop: one schema for everything kept per visitor, the flash message
// kinds, and the one declaration that types `req.session` and `req.flash` in every handler.
import { type StoreOption, session } from 'typed-session'
import { z } from 'zod'

/** Most of one product a cart may hold. */
export const MAX_QTY = 99
/** How many different products a cart may hold (the size of the catalogue). */
export const MAX_CART_LINES = 4

/** Everything the app keeps per visitor. A record from the store that does not match is dropped. */
export const SessionSchema = z.object({
  views: z.number().int().nonnegative().default(0),
  cart: z
    .array(z.object({ sku: z.string(), qty: z.number().int().min(1).max(MAX_QTY) }))
    .max(MAX_CART_LINES)
    .default([]),
  csrf: z.string().optional(),
  // Passport 0.7 keeps the login in `passport.user`; a schema that does not declare it strips it.
  passport: z.object({ user: z.string().optional() }).optional(),
  // "Firefox on Linux": what the account page's session list calls this device (set at sign-in).
  device: z.string().max(60).optional(),
})

/** Flash message kinds. Passport's `failureFlash` queues `error` strings. */
export const FlashSchema = {
  error: z.string(),
  info: z.string(),
  added: z.object({ sku: z.string(), qty: z.number().int() }),
}

/** Where sessions are kept and what signs their cookies; tests pass their own. */
export interface ShopSessionOptions {
  readonly store: StoreOption
  readonly secret: string | string[]
}

/**
 * The session middleware of the shop: sessions last two hours from the last save. Each signed-in
 * session is filed under its user (`owner`), so the account page can list and end them.
 */
// No return type written out: the middleware's type carries the schema, which is the point.
export function shopSession({ store, secret }: ShopSessionOptions) {
  return session({
    schema: SessionSchema,
    flash: FlashSchema,
    secret,
    store,
    cookie: { maxAge: 2 * 60 * 60 * 1000 },
    owner: (data) => data.passport?.user,
    sessionLabel: (data) => data.device,
  })
}

// The registration line: from here on `req.session.cart` is typed from SessionSchema and
// `req.flash('added', ...)` from FlashSchema, in every handler of the program.
declare module 'typed-session' {
  interface Register {
    session: ReturnType<typeof shopSession>
  }
}
