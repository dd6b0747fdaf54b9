import { createHash, randomBytes } from 'node:crypto'
import type { SessionIssue } from '../errors.js'

/**
 * A security or lifecycle event, for logging and attack detection (OWASP session attack
 * detection). `idHash` is a salted hash of the session id: it correlates events without exposing
 * an id that could be replayed.
 */
export type SessionEvent =
  /** A session cookie whose signature matches none of the secrets (tampering, or a removed secret). */
  | { readonly type: 'invalid_signature' }
  /** The request carried the session cookie more than once (cookie tossing); the first was used. */
  | { readonly type: 'duplicate_cookie' }
  /** A validly signed id that does not pass the id format check; no store lookup was made. */
  | { readonly type: 'malformed_id' }
  /** A validly signed id the store does not know (expired, destroyed, or never issued). */
  | { readonly type: 'unknown_id'; readonly idHash: string }
  /** A stored record failed the schema; `issues` says why. */
  | {
      readonly type: 'invalid_data'
      readonly idHash: string
      readonly issues: readonly SessionIssue[]
    }
  /** A stored record was larger than `maxSessionBytes`. */
  | { readonly type: 'too_large'; readonly idHash: string; readonly bytes: number }
  /**
   * A value nested deeper or wider than a schema should walk (`MAX_NESTING_DEPTH` levels,
   * `MAX_NESTING_WIDTH` members): a stored record (then treated as invalid) or one being saved.
   */
  | { readonly type: 'too_nested'; readonly idHash: string; readonly problem: 'depth' | 'width' }
  /** A session past its idle expiry (`cookie.expires`) was presented. */
  | { readonly type: 'expired_idle'; readonly idHash: string }
  /** A session past `absoluteTimeout` was presented. */
  | { readonly type: 'expired_absolute'; readonly idHash: string }
  /** A write for a session destroyed by another request was dropped (logout stays final). */
  | { readonly type: 'resurrection_blocked'; readonly idHash: string }
  /**
   * A save removed part of these keys and the schema refused what was left (Passport's logout
   * leaves `passport: {}`): the whole keys were removed instead, so a removal never fails open.
   */
  | {
      readonly type: 'removal_completed'
      readonly idHash: string
      readonly keys: readonly string[]
    }
  /** One flash message failed its schema and was dropped. */
  | {
      readonly type: 'invalid_flash'
      readonly idHash: string
      readonly kind: string
      readonly issues: readonly SessionIssue[]
    }
  /**
   * A session was ended by `revokeSessions` / `revokeSession` (`'revoked'`), or on load because its
   * owner's epoch changed (`'epoch'`); the cookie's next request gets a fresh anonymous session.
   */
  | { readonly type: 'revoked'; readonly idHash: string; readonly reason: 'revoked' | 'epoch' }
  /** A store call failed or timed out. */
  | { readonly type: 'store_error'; readonly operation: string; readonly error: unknown }

/** The `type` of a {@link SessionEvent}. */
export type SessionEventType = SessionEvent['type']

/** Salt for the id hashes in events: per process, so hashes cannot be matched against a list of ids. */
const EVENT_SALT = randomBytes(16)

/** A salted, shortened hash of an id: correlates events without revealing a usable id. */
export function hashId(id: string): string {
  return createHash('sha256').update(EVENT_SALT).update(id).digest('base64url').slice(0, 16)
}
