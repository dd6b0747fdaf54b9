import type { SessionCookie } from '../cookie/types.js'

/** A node-style callback, as Passport and express-session code pass to session members. */
export type SessionCallback = (err?: unknown) => void

/** Options for {@link SessionMembers.regenerate}. */
export interface RegenerateOptions<TData> {
  /**
   * Data keys to carry over to the new session. Everything else starts from the schema defaults.
   * Pending flash messages always carry over.
   */
  keep?: ReadonlyArray<keyof TData & string> | undefined
}

/**
 * What `regenerate()` takes: {@link RegenerateOptions} with `keep` checked key by key, so a wrong
 * key is named in the error (`'nope' is not a key of your session schema`) on every compiler.
 */
export interface CheckedRegenerateOptions<TData, TKeep extends string> {
  keep?: ReadonlyArray<KeepKey<TData, TKeep>> | undefined
}

/** A key `keep` may name: a data key, or else the message saying it is not one. */
export type KeepKey<TData, TKeep extends string> = TKeep extends keyof TData
  ? TKeep
  : `'${TKeep}' is not a key of your session schema`

/**
 * The members every `req.session` has, beside the data keys of the schema. Every async member
 * returns a Promise when called without a callback, and accepts a node-style callback (returning
 * the session, as express-session does) so Passport and callback code keep working.
 */
export interface SessionMembers<TData> {
  /** The session id (also `req.sessionID`). Read-only. */
  readonly id: string
  /** This session's cookie settings and expiry. */
  cookie: SessionCookie
  /** Write the session to the store now (it is saved automatically before the response ends). */
  save(): Promise<void>
  save(callback: SessionCallback): this
  /** Replace the data with what the store holds now (validated again). */
  reload(): Promise<void>
  reload(callback: SessionCallback): this
  /**
   * Give the session a new id and destroy the old record; data starts again from the schema
   * defaults, except the keys named in `keep`. `req.session` is then the new session; the old
   * object is frozen so a stale reference cannot write into either session.
   */
  // The options overload is last: TypeScript 7 reports only the last overload's complaint, which
  // must be the one about `keep`, not "'keep' does not exist in type 'SessionCallback'".
  regenerate(callback: SessionCallback): this
  regenerate<const TKeep extends string = never>(
    options: CheckedRegenerateOptions<TData, TKeep>,
    callback: SessionCallback,
  ): this
  regenerate<const TKeep extends string = never>(
    options?: CheckedRegenerateOptions<TData, TKeep>,
  ): Promise<void>
  /**
   * Delete the session from the store and clear the cookie. Terminal: the object is frozen and no
   * request that started earlier can write the session back.
   */
  destroy(): Promise<void>
  destroy(callback: SessionCallback): this
  /** Reset the cookie expiry to `now + maxAge`, and extend the stored record with it. */
  touch(): this
  /** Reset `cookie.maxAge` to `cookie.originalMaxAge`. */
  resetMaxAge(): this
}

/** `req.session`: the schema's data keys as plain properties, plus the session members. */
export type TypedSession<TData> = TData & SessionMembers<TData>
