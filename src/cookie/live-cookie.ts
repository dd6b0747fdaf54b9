import { serialize } from 'cookie'
import { SessionError } from '../errors.js'
import type { StoredCookie } from '../stores/types.js'
import type { CookieSettings } from './settings.js'
import type { SessionCookie } from './types.js'

/** The date every browser reads as "already expired": used to clear a cookie. */
const EPOCH = new Date(0)

/**
 * `req.session.cookie`: one session's expiry plus the configured attributes. Attributes come from
 * the current configuration on every request (a config change applies at once); only the expiry
 * and `originalMaxAge` are stored with the session.
 */
export class LiveCookie implements SessionCookie {
  originalMaxAge: number | null
  #expires: Date | null
  httpOnly: boolean
  path: string
  domain: string | undefined
  secure: boolean | undefined
  sameSite: boolean | 'lax' | 'strict' | 'none' | undefined
  partitioned: boolean | undefined
  priority: 'low' | 'medium' | 'high' | undefined
  /** When the session was created (ms since epoch), kept only with an absolute timeout. */
  createdAt: number | undefined
  /** Set when a handler changed the expiry itself ("remember me"): save and resend the cookie. */
  changed = false
  /** The settings this cookie was built from: their path and domain were checked at `session()`. */
  readonly #checked: CookieSettings

  constructor(settings: CookieSettings, secure: boolean, now: number) {
    this.#checked = settings
    this.httpOnly = settings.httpOnly
    this.path = settings.path
    this.domain = settings.domain
    this.secure = secure
    this.sameSite = settings.sameSite === 'auto' ? (secure ? 'none' : 'lax') : settings.sameSite
    this.partitioned = settings.partitioned
    this.priority = settings.priority
    this.originalMaxAge = settings.maxAge ?? null
    this.#expires =
      settings.expires ?? (settings.maxAge === undefined ? null : new Date(now + settings.maxAge))
    this.createdAt = undefined
  }

  /** When the session expires (`null`: a browser-session cookie, gone when the browser closes). */
  get expires(): Date | null {
    return this.#expires
  }

  /**
   * Setting `expires` starts a new lifetime that ends then, kept for later requests too: as in
   * express-session, `originalMaxAge` becomes the time left, and later saves renew by that much.
   * `null` makes a browser-session cookie (a "remember me" box left unticked).
   */
  set expires(date: Date | null) {
    if (date === null || date === undefined) {
      this.originalMaxAge = null
      this.#expires = null
    } else {
      if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
        throw new SessionError(
          'ERR_SESSION_MISUSE',
          'typed-session: cookie.expires must be a valid Date or null',
        )
      }
      this.originalMaxAge = date.getTime() - Date.now()
      this.#expires = new Date(date.getTime())
    }
    this.changed = true
  }

  /** Milliseconds until expiry (`undefined` for a browser-session cookie). */
  get maxAge(): number | undefined {
    return this.#expires === null ? undefined : this.#expires.getTime() - Date.now()
  }

  /** Setting `maxAge` starts a new lifetime of that length, kept for later requests too. */
  set maxAge(ms: number | undefined) {
    if (ms === undefined) {
      this.originalMaxAge = null
      this.#expires = null
    } else {
      this.originalMaxAge = ms
      this.#expires = new Date(Date.now() + ms)
    }
    this.changed = true
  }

  /** Restore the lifetime read from the store (express-session's stored `cookie` object). */
  restore(stored: StoredCookie): void {
    const maxAge = stored.originalMaxAge
    this.originalMaxAge = typeof maxAge === 'number' && Number.isFinite(maxAge) ? maxAge : null
    const expires = stored.expires == null ? null : new Date(stored.expires as string)
    this.#expires = expires === null || Number.isNaN(expires.getTime()) ? null : expires
    const createdAt = stored.createdAt
    if (typeof createdAt === 'number' && Number.isFinite(createdAt)) this.createdAt = createdAt
  }

  /** Start the lifetime again from `now` (every save, touch and rolling response does this). */
  renew(now: number, deadline: number | undefined): void {
    if (this.originalMaxAge !== null) this.#expires = new Date(now + this.originalMaxAge)
    // An absolute timeout caps the idle expiry (OWASP absolute timeout).
    if (deadline !== undefined && (this.#expires === null || this.#expires.getTime() > deadline)) {
      this.#expires = new Date(deadline)
    }
  }

  /** The stored form, as express-session stores it: stores compute their TTL from `expires`. */
  toJSON(): StoredCookie {
    const json: StoredCookie = {
      originalMaxAge: this.originalMaxAge,
      expires: this.#expires === null ? null : this.#expires.toISOString(),
      httpOnly: this.httpOnly,
      path: this.path,
    }
    if (this.secure) json.secure = true
    if (this.domain !== undefined) json.domain = this.domain
    if (this.sameSite !== undefined) json.sameSite = this.sameSite
    if (this.createdAt !== undefined) json.createdAt = this.createdAt
    return json
  }

  /** The `Set-Cookie` header value carrying `value`. */
  serialize(name: string, value: string): string {
    return this.header(name, encodeURIComponent(value), this.#expires)
  }

  /** A `Set-Cookie` header value that deletes the cookie (same name, path and domain). */
  serializeClear(name: string): string {
    return this.header(name, '', EPOCH)
  }

  /**
   * The header, built by concatenation: the cookie package's `serialize` costs ~15 us a call (an
   * object spread and a check of every attribute), which was the largest single cost of a request
   * that sets the cookie. The name was checked at `session()` and the value is `encodeURIComponent`
   * output, so only a path or domain a handler changed needs checking: that case goes through
   * `serialize`, which refuses `;`, CR and LF (header injection, CVE-2024-47764). The bytes are
   * the same as `serialize`'s, in its attribute order (a test compares the two).
   */
  private header(name: string, encodedValue: string, expires: Date | null): string {
    if (this.path !== this.#checked.path || this.domain !== this.#checked.domain) {
      return serialize(name, decodeURIComponent(encodedValue), this.attributes(expires))
    }
    let header = `${name}=${encodedValue}`
    if (this.domain !== undefined) header += `; Domain=${this.domain}`
    header += `; Path=${this.path}`
    if (expires !== null) header += `; Expires=${expires.toUTCString()}`
    if (this.httpOnly) header += '; HttpOnly'
    if (this.secure) header += '; Secure'
    if (this.partitioned) header += '; Partitioned'
    if (this.priority !== undefined) header += `; Priority=${PRIORITY[this.priority]}`
    if (this.sameSite !== undefined && this.sameSite !== false) {
      header += `; SameSite=${SAME_SITE[this.sameSite === true ? 'strict' : this.sameSite]}`
    }
    return header
  }

  private attributes(expires: Date | null): Parameters<typeof serialize>[2] {
    return {
      path: this.path,
      httpOnly: this.httpOnly,
      ...(expires === null ? {} : { expires }),
      ...(this.domain === undefined ? {} : { domain: this.domain }),
      ...(this.secure ? { secure: true } : {}),
      ...(this.sameSite === undefined || this.sameSite === false
        ? {}
        : { sameSite: this.sameSite }),
      ...(this.partitioned ? { partitioned: true } : {}),
      ...(this.priority === undefined ? {} : { priority: this.priority }),
    }
  }
}

const PRIORITY = { low: 'Low', medium: 'Medium', high: 'High' } as const
const SAME_SITE = { lax: 'Lax', strict: 'Strict', none: 'None' } as const
