import type { LiveCookie } from '../cookie/live-cookie.js'
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
    return this.#owner.id
  }

  get cookie(): LiveCookie {
    return this.#owner.cookie
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
    const cookie = this.#owner.cookie
    cookie.maxAge = cookie.originalMaxAge ?? undefined
    return this
  }
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
