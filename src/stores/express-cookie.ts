import type { StoredCookie } from './types.js'

/**
 * The `cookie` of a record handed to an express-session store: an object that behaves as
 * express-session's `Cookie` does, because stores written for it read it that way. memorystore and
 * connect-sqlite3 compute the lifetime from the `maxAge` getter, connect-session-sequelize checks
 * `!isNaN(cookie.expires)` (true only for a `Date`); given a plain object with an ISO string they
 * all fell back to one day, so a 7-day session ended after one.
 *
 * Its `toJSON()` is the same shape express-session stores (`expires` then serialises as an ISO
 * string), so what the store writes reads back as before.
 */
export class ExpressCookie {
  originalMaxAge: number | null
  partitioned: boolean | undefined
  priority: string | undefined
  secure: boolean | undefined
  httpOnly: boolean | undefined
  domain: string | undefined
  path: string | undefined
  sameSite: boolean | string | undefined
  /** typed-session's creation time (absolute timeout), kept through the store. */
  createdAt: number | undefined
  /** express-session keeps the expiry in this field, behind the `expires` accessor. */
  _expires: Date | null

  constructor(stored: StoredCookie) {
    this.originalMaxAge = typeof stored.originalMaxAge === 'number' ? stored.originalMaxAge : null
    this.partitioned = optional<boolean>(stored.partitioned, 'boolean')
    this.priority = optional<string>(stored.priority, 'string')
    this.secure = optional<boolean>(stored.secure, 'boolean')
    this.httpOnly = optional<boolean>(stored.httpOnly, 'boolean')
    this.domain = optional<string>(stored.domain, 'string')
    this.path = optional<string>(stored.path, 'string')
    const sameSite = stored.sameSite
    this.sameSite =
      typeof sameSite === 'string' || typeof sameSite === 'boolean' ? sameSite : undefined
    this.createdAt = optional<number>(stored.createdAt, 'number')
    const expires = stored.expires == null ? null : new Date(stored.expires)
    this._expires = expires === null || Number.isNaN(expires.getTime()) ? null : expires
  }

  /** When the session expires (`null`: a browser-session cookie). */
  get expires(): Date | null {
    return this._expires
  }

  /** As in express-session, a new expiry also becomes the new `originalMaxAge`. */
  set expires(date: Date | null) {
    this._expires = date
    this.originalMaxAge = this.maxAge
  }

  /** Milliseconds until `expires`, counted now; `null` for a browser-session cookie. */
  get maxAge(): number | null {
    return this._expires instanceof Date ? this._expires.getTime() - Date.now() : this._expires
  }

  set maxAge(ms: number | null) {
    this.expires = typeof ms === 'number' ? new Date(Date.now() + ms) : null
  }

  /** The stored fields, in express-session's order. */
  get data(): StoredCookie {
    const data: StoredCookie = {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this._expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    }
    if (this.createdAt !== undefined) data.createdAt = this.createdAt
    return data
  }

  toJSON(): StoredCookie {
    return this.data
  }
}

function optional<T>(value: unknown, type: 'boolean' | 'string' | 'number'): T | undefined {
  return typeof value === type ? (value as T) : undefined
}
