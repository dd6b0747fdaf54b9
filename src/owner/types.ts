// Public types of the per-owner session index ("sign out everywhere", issue 12). Kept apart from
// the core option types: nothing here is needed by an app that does not name an owner.

/**
 * The options that name who a session belongs to. `TData` is the schema's output, so the functions
 * are checked against the schema; `TOwner` is what `owner` returns, and types
 * {@link SessionIndexApi.listSessions} and {@link SessionIndexApi.revokeSessions}.
 */
export interface OwnerOptions<TData, TOwner extends string> {
  /**
   * Who the session belongs to: an id string (1 to 256 characters), or `undefined` for an anonymous
   * session. Called with the validated data each time the session is written; when the answer
   * changes (login, logout, a switch of user) the session moves in the store's index.
   * @example
   * ```ts
   * owner: (data) => data.passport?.user
   * ```
   */
  owner?: ((data: Readonly<TData>) => TOwner | undefined) | undefined
  /**
   * A short label for {@link SessionIndexApi.listSessions}, such as a device summary the app keeps
   * in the session (`"Firefox on Linux"`). Taken from the typed data at each write, cut to 200
   * characters. Without it, sessions are listed without a label.
   */
  sessionLabel?: ((data: Readonly<TData>) => string | undefined) | undefined
  /**
   * The owner's current "epoch": any value the app changes to end every session of the owner at
   * once (a counter bumped on "sign out everywhere", or a fingerprint of the password hash, which
   * then changes with the password, as in Django). Each session remembers the epoch it was signed
   * in with (as a SHA-256, never the value itself); a session whose epoch no longer matches is
   * ended on its next request, on every store, with or without an index. `regenerate()` takes the
   * current epoch again, which is how "keep this device" works after a password change.
   * Called on every request of a signed-in session: keep it cheap (a cached lookup).
   */
  ownerEpoch?: ((owner: TOwner) => OwnerEpoch | Promise<OwnerEpoch>) | undefined
}

/** What {@link OwnerOptions.ownerEpoch} returns; `undefined` when the owner has none (or is gone). */
export type OwnerEpoch = string | number | undefined

/**
 * One live session of an owner, as {@link SessionIndexApi.listSessions} reports it. It never
 * carries the session id: `handle` names the session and can only be passed back to
 * {@link SessionIndexApi.revokeSession} together with the same owner.
 */
export interface OwnedSession {
  /** An opaque, stable name of this session (not the id, not usable as a cookie). */
  readonly handle: string
  /** When the owner signed in on this session. */
  readonly createdAt: Date
  /** The last time the session was written or its expiry extended. */
  readonly lastActiveAt: Date
  /** When the session expires if unused; `null` for a browser-session cookie. */
  readonly expiresAt: Date | null
  /** What {@link OwnerOptions.sessionLabel} returned at the last write. */
  readonly label: string | undefined
  /** Whether this is the session passed as `current` to `listSessions`. */
  readonly current: boolean
}

/** Options of {@link SessionIndexApi.listSessions}. */
export interface ListSessionsOptions {
  /** The current request's session id (`req.sessionID`): its entry is marked `current`. */
  current?: string | undefined
}

/** Options of {@link SessionIndexApi.revokeSessions}. */
export interface RevokeSessionsOptions {
  /** A session id to keep (`req.sessionID`, for "sign out other devices"). */
  except?: string | undefined
}

/**
 * What the middleware offers once `owner` is set: list an owner's live sessions and end them.
 * Needs a store with an index (`MemoryStore`, `typed-session/redis`, `typed-session/pg`); any other
 * store rejects with `ERR_SESSION_NO_INDEX` (use `ownerEpoch` there). Without `owner`, `TOwner` is
 * `never` and these cannot be called.
 */
export interface SessionIndexApi<TOwner extends string> {
  /**
   * The owner's live sessions, oldest sign-in first. Entries the store still lists but that have
   * expired, were destroyed or changed owner are dropped from its index on the way.
   * @throws `ERR_SESSION_NO_INDEX` when the store keeps no index; `ERR_SESSION_STORE` when it fails.
   * @example
   * ```ts
   * const sessions = await appSession.listSessions(user.id, { current: req.sessionID })
   * ```
   */
  listSessions(owner: TOwner, options?: ListSessionsOptions): Promise<OwnedSession[]>
  /**
   * End every session of the owner (all but `except`), in every process: the records are deleted,
   * requests in flight cannot write them back, their cookies get fresh anonymous sessions.
   * Resolves to the number of sessions ended.
   * @throws `ERR_SESSION_NO_INDEX` when the store keeps no index; `ERR_SESSION_STORE` when it fails.
   * @example
   * ```ts
   * const ended = await appSession.revokeSessions(user.id, { except: req.sessionID })
   * ```
   */
  revokeSessions(owner: TOwner, options?: RevokeSessionsOptions): Promise<number>
  /**
   * End the one session of `owner` that `handle` names (from {@link listSessions}). Resolves
   * `false` when the owner has no such session (a handle of another owner does nothing).
   * @throws `ERR_SESSION_NO_INDEX` when the store keeps no index; `ERR_SESSION_STORE` when it fails.
   */
  revokeSession(owner: TOwner, handle: string): Promise<boolean>
}
