/**
 * What a store keeps for one session: the session data keys at the top level, plus a `cookie`
 * object (and `flash` when messages are pending). This is express-session's stored shape, so stores
 * written for it (connect-redis, connect-pg-simple, ...) compute their TTL from `cookie.expires`.
 */
export interface SessionRecord {
  [key: string]: unknown
  cookie: StoredCookie
}

/** The `cookie` object inside a stored record (express-session's `Cookie#toJSON()` shape). */
export interface StoredCookie {
  /** The `maxAge` the cookie was created with, in milliseconds; `null` for a browser-session cookie. */
  originalMaxAge: number | null
  /** When the session expires, as an ISO string (a `Date` before serialization); `null` for none. */
  expires: string | Date | null
  [key: string]: unknown
}

/**
 * The changes one request made to a session: keys to set, keys to delete. A store that implements
 * {@link SessionStore.patch} applies them atomically on top of the record as it stands, so two
 * requests that change different keys of one session never overwrite each other.
 */
export interface SessionPatch {
  /** Data keys (and `flash`) to set to these values. */
  readonly set: Readonly<Record<string, unknown>>
  /** Data keys (and `flash`) to delete. */
  readonly unset: readonly string[]
  /** The new `cookie` object (expiry moves with every write). */
  readonly cookie: StoredCookie
  /**
   * Flash messages to append to the stored queue (the record's `flash` slot), by kind, after any
   * messages already queued there. Sent only to stores that implement
   * {@link SessionStore.takeFlash}; `flash` is then never in `set` or `unset`, so two processes
   * that queue messages at the same time both keep theirs.
   */
  readonly flash?: Readonly<Record<string, readonly unknown[]>> | undefined
}

/**
 * The native, Promise-based store contract. `get` returns `unknown` on purpose: typed-session
 * validates whatever comes back, so a store never has to be trusted. Stores written for
 * express-session (callback style) are adapted automatically; implement this interface for a new
 * store.
 *
 * Every method may reject; typed-session turns a rejection (or no answer within `storeTimeout`)
 * into an `ERR_SESSION_STORE` error passed to `next`.
 */
export interface SessionStore {
  /**
   * The record stored under `id`, or `null`/`undefined` when there is none or it has expired.
   * May return the record as a JSON string; typed-session parses and validates it.
   */
  get(id: string): Promise<unknown>
  /** Create or replace the record under `id`. Expire it at `record.cookie.expires`. */
  set(id: string, record: SessionRecord): Promise<void>
  /** Delete the record under `id`; deleting a missing record succeeds. */
  destroy(id: string): Promise<void>
  /**
   * Optional: extend the life of the record under `id` to `record.cookie.expires` without
   * rewriting its data. Must not create a record that does not exist.
   */
  touch?(id: string, record: SessionRecord): Promise<void>
  /**
   * Optional: atomically apply `patch` to the record under `id`. Resolves `false` (and writes
   * nothing) when no record exists, so a session destroyed meanwhile is never written back.
   */
  patch?(id: string, patch: SessionPatch): Promise<boolean>

  // ---- Per-owner index (issue 12): optional; without it listSessions / revokeSessions fail with
  // ERR_SESSION_NO_INDEX and only the `ownerEpoch` check ends sessions.

  /**
   * Optional, with `patch`: the ids the store's index lists for `owner`. A store that implements
   * it indexes every record it is given by `set` (and every create) under `recordOwner(record)`,
   * and applies `patchOwner(patch)` on every `patch`, before or in the same step as the write: an
   * id may be listed after its record is gone or changed owner (typed-session checks each record
   * and passes those to `unindex`), but a record with an owner must never be missing from its list,
   * or revoking would miss it.
   */
  indexedIds?(owner: string): Promise<readonly string[]>
  /**
   * Optional: forget `ids` from `owner`'s index (they expired, were destroyed or changed owner).
   * Stores whose index is the data itself (a column) do not need it.
   */
  unindex?(owner: string, ids: readonly string[]): Promise<void>
  /**
   * Optional: store `record` under `id` only if no live record is there. Resolves `true` when it
   * was created, `false` (and writes nothing) when the id is taken. typed-session creates every new
   * session with it, so two processes can never both own one id, and a write can never bring back
   * an id another process has just ended. Without it, new sessions are written with `set`.
   */
  create?(id: string, record: SessionRecord): Promise<boolean>
  /**
   * Optional, used together with {@link SessionStore.patch}: atomically remove the `flash` slot of
   * the record under `id` and resolve what it held (an object of message lists by kind, or its
   * JSON), or `null`/`undefined` when there is no record or no message. typed-session takes the
   * queue when it loads a record that has one, shows it in that request only, and appends what the
   * handler did not read back with `patch`'s `flash`: across processes a message is shown once and
   * never lost. A store implementing this must apply {@link SessionPatch.flash}.
   */
  takeFlash?(id: string): Promise<unknown>
}

/**
 * The writes of an in-process store that answers at once (typed-session's `MemoryStore`):
 * the same contracts as {@link SessionStore.set}, {@link SessionStore.patch} and
 * {@link SessionStore.create}, returning instead of resolving, throwing instead of rejecting.
 */
export interface SyncWrites {
  set(id: string, record: SessionRecord): void
  patch(id: string, patch: SessionPatch): boolean
  create(id: string, record: SessionRecord): boolean
  /**
   * Replace the record's data JSON and cookie if its data is still exactly `expected` (no flash,
   * no owner slot); `false` and nothing written otherwise.
   */
  replace(id: string, expected: string, data: string, cookie: StoredCookie): boolean
}
