import type { IncomingMessage } from 'node:http'

/**
 * Cookie settings for the session cookie. Same names and meaning as express-session's `cookie`
 * option; the defaults are the safe ones.
 */
export interface CookieOptions {
  /**
   * Lifetime in milliseconds, counted from the last time the cookie was sent. Omit (and omit
   * `expires`) for a browser-session cookie.
   */
  maxAge?: number | undefined
  /** A fixed expiry date. Prefer `maxAge`; setting both is an error. */
  expires?: Date | undefined
  /** Hide the cookie from `document.cookie`. @default true */
  httpOnly?: boolean | undefined
  /**
   * Send the cookie over HTTPS only. `'auto'` marks it `Secure` when the request is secure (honours
   * `proxy` / Express `trust proxy`). A `Secure` cookie is never set on an insecure request.
   * @default 'auto'
   */
  secure?: boolean | 'auto' | undefined
  /**
   * SameSite attribute. `'auto'` is `'none'` on secure requests and `'lax'` otherwise; `true` is
   * `'strict'`; `false` omits the attribute.
   * @default 'lax'
   */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto' | undefined
  /** Cookie domain. Omit to scope the cookie to the exact host (safest). */
  domain?: string | undefined
  /**
   * Cookie path. Requests whose path does not start with it are not given a session.
   * @default '/'
   */
  path?: string | undefined
  /** CHIPS `Partitioned` attribute. */
  partitioned?: boolean | undefined
  /** `Priority` attribute (Chromium). */
  priority?: 'low' | 'medium' | 'high' | undefined
}

/** Cookie settings, fixed or computed per request (computed when a session is created). */
export type CookieOption = CookieOptions | ((req: IncomingMessage) => CookieOptions)

/**
 * `req.session.cookie`: the live cookie settings of this session. Changing `maxAge` or `expires`
 * (a "remember me" checkbox) changes the expiry that is stored and sent.
 */
export interface SessionCookie {
  /** The `maxAge` this session started with, in milliseconds (`null`: browser-session cookie). */
  originalMaxAge: number | null
  /** When the session expires (`null`: browser-session cookie). */
  expires: Date | null
  /** Milliseconds left until `expires`; setting it moves `expires`. */
  maxAge: number | undefined
  httpOnly: boolean
  path: string
  domain?: string | undefined
  secure?: boolean | 'auto' | undefined
  sameSite?: boolean | 'lax' | 'strict' | 'none' | undefined
  partitioned?: boolean | undefined
  priority?: 'low' | 'medium' | 'high' | undefined
}
