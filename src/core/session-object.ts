import type { LiveCookie } from '../cookie/live-cookie.js'
import { SessionError } from '../errors.js'
import type { RegenerateOptions, SessionCallback } from './session-type.js'

/** What a session object asks of the request that owns it. */
export interface SessionOwner {
  readonly id: string
  readonly cookie: LiveCookie
  save(from: SessionObject): Promise<void>
  reload(from: SessionObject): Promise<void>
  regenerate(from: SessionObject, keep: readonly string[] | undefined): Promise<void>
  destroy(from: SessionObject): Promise<void>
  touch(from: SessionObject): void
}

/**
 * Sessions replaced by `regenerate()`, with the id and cookie each had. The owner moves on to a
 * new id and cookie; a stale reference keeps reporting its own, so it can neither leak the new id
 * nor change the new session's expiry (express-session #425, #1036: stale `req.session`).
 */
const retired = new WeakMap<SessionObject, { readonly id: string; readonly cookie: LiveCookie }>()

/**
 * `req.session`. Data keys are its own enumerable properties (so `Object.keys`, spreading and
 * `JSON.stringify` see exactly the data, as in express-session); the members live on the
 * prototype and the owner in a private field, invisible to both.
 */
export class SessionObject {
  readonly #owner: SessionOwner

  constructor(owner: SessionOwner) {
    this.#owner = owner
  }

  get id(): string {
    return retired.get(this)?.id ?? this.#owner.id
  }

  get cookie(): LiveCookie {
    return retired.get(this)?.cookie ?? this.#owner.cookie
  }

  save(callback?: SessionCallback): Promise<void> | this {
    return settle(this, this.#owner.save(this), callback)
  }

  reload(callback?: SessionCallback): Promise<void> | this {
    return settle(this, this.#owner.reload(this), callback)
  }

  regenerate(
    options?: RegenerateOptions<Record<string, unknown>> | SessionCallback,
    callback?: SessionCallback,
  ): Promise<void> | this {
    if (typeof options === 'function')
      return settle(this, this.#owner.regenerate(this, undefined), options)
    return settle(this, this.#owner.regenerate(this, options?.keep), callback)
  }

  destroy(callback?: SessionCallback): Promise<void> | this {
    return settle(this, this.#owner.destroy(this), callback)
  }

  touch(): this {
    this.#owner.touch(this)
    return this
  }

  resetMaxAge(): this {
    if (retired.has(this)) {
      throw new SessionError(
        'ERR_SESSION_DESTROYED',
        'typed-session: resetMaxAge() on a session that was replaced by regenerate()',
      )
    }
    const cookie = this.#owner.cookie
    cookie.maxAge = cookie.originalMaxAge ?? undefined
    return this
  }
}

/**
 * Retire `session` for good: frozen (its data cannot change), members reject with
 * `ERR_SESSION_DESTROYED`, and `id` / `cookie` stay those it had (the cookie frozen too).
 */
export function retireSession(session: SessionObject, id: string, cookie: LiveCookie): void {
  Object.freeze(cookie)
  retired.set(session, { id, cookie })
  Object.freeze(session)
}

/** Promise without a callback; with one, call it once (node style) and return the session. */
function settle<TSession extends SessionObject>(
  session: TSession,
  promise: Promise<void>,
  callback: SessionCallback | undefined,
): Promise<void> | TSession {
  if (callback === undefined) return promise
  promise.then(
    () => callback(),
    (err: unknown) => callback(err),
  )
  return session
}
