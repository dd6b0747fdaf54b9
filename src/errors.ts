/**
 * Every stable error code typed-session throws or passes to `next`. Codes are never renamed once
 * shipped; match on `code`, not on the message.
 */
export type SessionErrorCode =
  /** Bad options at `session()` (or a bad `genid` / cookie function result at request time). */
  | 'ERR_SESSION_OPTIONS'
  /** The store failed, threw, or did not answer within `storeTimeout`. The original is the `cause`. */
  | 'ERR_SESSION_STORE'
  /** A loaded record failed the schema and `onInvalid` is `'error'`. `issues` holds the details. */
  | 'ERR_SESSION_INVALID'
  /** Data about to be saved fails the schema (or holds keys the schema would drop). */
  | 'ERR_SESSION_INVALID_DATA'
  /** A record (loaded or about to be saved) is larger than `maxSessionBytes`. */
  | 'ERR_SESSION_TOO_LARGE'
  /** A member was used after `destroy()` or after the session was replaced by `regenerate()`. */
  | 'ERR_SESSION_DESTROYED'
  /** A call the session does not allow: an unknown flash kind, `reload()` of a session never saved. */
  | 'ERR_SESSION_MISUSE'
  /**
   * `listSessions` / `revokeSessions` on a store that keeps no per-owner index (an express-session
   * store such as connect-redis): use a native store, or end sessions with `ownerEpoch`.
   */
  | 'ERR_SESSION_NO_INDEX'

/** One problem reported by schema validation (the Standard Schema issue shape). */
export interface SessionIssue {
  readonly message: string
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
}

const BRAND: unique symbol = Symbol.for('typed-session.error')

/**
 * The one error class typed-session uses. `code` says what went wrong; `issues` carries schema
 * problems for `ERR_SESSION_INVALID` and `ERR_SESSION_INVALID_DATA`; infrastructure failures keep
 * the original error as `cause`. Messages never contain a secret or a full session id.
 *
 * @example
 * ```ts
 * app.use((err, req, res, next) => {
 *   if (isSessionError(err) && err.code === 'ERR_SESSION_STORE') return res.status(503).send('Try again')
 *   next(err)
 * })
 * ```
 */
export class SessionError extends Error {
  /** Stable machine-readable code. */
  readonly code: SessionErrorCode
  /** Schema validation issues, when the error is about invalid data. */
  readonly issues: readonly SessionIssue[]
  /** Suggested HTTP status for an error handler: 503 for store failures, 500 otherwise. */
  readonly status: number

  constructor(
    code: SessionErrorCode,
    message: string,
    options: { cause?: unknown; issues?: readonly SessionIssue[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SessionError'
    this.code = code
    this.issues = options.issues ?? []
    this.status = code === 'ERR_SESSION_STORE' ? 503 : 500
    Object.defineProperty(this, BRAND, { value: true })
  }
}

/**
 * True for any error thrown by typed-session, even when two copies of the package are loaded
 * (the brand is a `Symbol.for`, not `instanceof`).
 */
export function isSessionError(value: unknown): value is SessionError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true
  )
}
