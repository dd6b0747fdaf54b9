import type { ServerResponse } from 'node:http'
import { LiveCookie } from '../cookie/live-cookie.js'
import type { cookieSettingsFor } from '../cookie/settings.js'
import { SessionError } from '../errors.js'
import type { OwnerSlot } from '../owner/meta.js'
import { validate } from '../schema/validate.js'
import type { SessionConfig } from './config.js'
import { hashId, type SessionEvent } from './events.js'
import type { FlashQueue, FlashState } from './flash.js'
import { generateId, isValidId } from './id.js'
import type { LiveEntry } from './registry.js'
import { isSecure, type SessionRequest } from './request-facts.js'
import { FORBIDDEN_DATA_KEYS } from './reserved-keys.js'
import type { SessionObject, SessionOwner } from './session-object.js'

/** Keys of a stored record that are not session data. */
export const COOKIE_KEY = 'cookie'
export const FLASH_KEY = 'flash'

/**
 * Where the session stands against the store.
 * - `new`: no record exists for `id` (a fresh or regenerated session, or one whose record this
 *   request deleted); a save creates it.
 * - `stored`: a record exists for `id` (loaded, or written by this request).
 * - `destroyed`: `destroy()` ended the session; nothing may write it again in this request.
 */
export type RecordState = 'new' | 'stored' | 'destroyed'

/**
 * Why this request must write even if the handler changed nothing, weakest first. Each level
 * includes the ones before it.
 * - `none`: write only if something changed.
 * - `save`: write (a regenerated session, an absolute timeout added to an old session).
 * - `save-flash`: write, and rewrite the stored flash queue (invalid messages were dropped on load).
 * - `replace`: write the whole record, never a patch on top of what the store holds (a repaired one).
 */
export type ForcedWrite = 'none' | 'save' | 'save-flash' | 'replace'

const FORCED_RANK: Readonly<Record<ForcedWrite, number>> = {
  none: 0,
  save: 1,
  'save-flash': 2,
  replace: 3,
}

/**
 * One request's session state, shared by the phases that read it: loading (`load.ts`), the
 * response hooks (`response-hooks.ts`) and the commit (`commit.ts`, `write.ts`). Every field is
 * described once, here. The small operations several phases need (events, ids, cookies, ending the
 * stored record) live here too.
 */
export class RequestState {
  readonly config: SessionConfig
  readonly req: SessionRequest
  readonly res: ServerResponse
  readonly next: (err?: unknown) => void
  /** What `req.session`'s members call (the request's {@link SessionOwner}). */
  readonly owner: SessionOwner

  /** The cookie settings of this request (a `cookie` function is resolved per request). */
  settings!: ReturnType<typeof cookieSettingsFor>
  #secureRequest: boolean | undefined

  /** The current session id (changes on `regenerate()`). */
  id = ''
  /** `req.session.cookie` of the current session. */
  cookie!: LiveCookie
  /** `req.session` of the current session. */
  object!: SessionObject
  flash!: FlashState
  /** Whether a record exists for `id`, or the session was destroyed. */
  record: RecordState = 'new'
  /** What this request must write even without changes. */
  forced: ForcedWrite = 'none'
  /**
   * The data as JSON when last loaded or saved: what "changed" is measured against. `undefined`
   * means "everything is new" (a repaired record, a regenerated session).
   */
  snapshot: string | undefined

  /** The id the request's cookie carried (verified), if any. */
  presentedId: string | undefined
  /** The cookie value that carried it, when the current secret signed it (resent as is). */
  presentedValue: string | undefined
  /** The presented cookie was signed with an older secret: resend it signed with the current one. */
  needsResign = false
  /** `touch()` was called: renew the expiry in the store and resend the cookie. */
  touched = false
  /** This request wrote the session to the store, for any reason (a `resave` write included). */
  saved = false
  /**
   * This request saved changes (data, flash, the expiry set by the handler, a forced write), so a
   * cookie with an expiry is resent. A `resave` write of an unchanged session is not one: as in
   * express-session, it moves the stored expiry and sends no cookie.
   */
  savedChanges = false
  /**
   * The last write found the session ended meanwhile (logged out or revoked by another request)
   * and was not made. An explicit `save()` then rejects instead of reporting a write that did not
   * happen; the end-of-request commit only reports it (`resurrection_blocked`).
   */
  writeBlocked = false

  /** The shared in-process entry of a session that exists in the store (see registry.ts). */
  entry: LiveEntry | undefined
  /** The entry's version when this request loaded (or last wrote); -1 when a write was pending. */
  entryVersion = 0

  /**
   * Session index (issue 12): the record's owner slot as loaded or last written; only kept with
   * the `owner` option. `undefined` for an anonymous (or new, or regenerated) session.
   */
  ownerSlot: OwnerSlot | undefined

  /**
   * Whether this session is `req.session` (the first session middleware on the request claims
   * it); another middleware's session is reached through its own `of(req)` / `handler()`.
   */
  exposed = true
  /** `req.session = null` through a `handler()` view of a session that is not `req.session`. */
  dropped = false
  /**
   * Issue 10, store flash operations: the queue this request took out of the store on load, as
   * it was. What the handler leaves of it is appended back at the commit; all of it when the
   * commit is skipped.
   */
  takenFlash: FlashQueue | undefined
  /** Issue 10: the `create` of a new session in flight (a second save waits for it). */
  creating: { readonly id: string; readonly done: Promise<boolean> } | undefined

  /** The response hooks are the shared ones (shared-hooks.ts), which also see `close`. */
  sharedHooks = false
  /** The `Set-Cookie` decision was made (it is made once, before the headers go out). */
  cookieDecided = false
  /** `res.end` was called once: the commit has started. */
  ending = false

  constructor(
    config: SessionConfig,
    req: SessionRequest,
    res: ServerResponse,
    next: (err?: unknown) => void,
    owner: SessionOwner,
  ) {
    this.config = config
    this.req = req
    this.res = res
    this.next = next
    this.owner = owner
  }

  /**
   * Whether the request arrived over TLS (or a trusted proxy says so). Worked out on first use: only
   * a cookie that may be Secure needs it, and with `secure: false` (the default) walking Express's
   * `req.secure` / `trust proxy` getters would be paid by every request for nothing.
   */
  get secureRequest(): boolean {
    this.#secureRequest ??= isSecure(this.req, this.config.proxy)
    return this.#secureRequest
  }

  /**
   * Decide `secureRequest` now, while the request is still in the app that mounted the session:
   * Express's `req.secure` reads that app's `trust proxy`.
   */
  decideSecure(): void {
    this.#secureRequest = isSecure(this.req, this.config.proxy)
  }

  /** Raise `forced` to at least `level`. */
  requireWrite(level: ForcedWrite): void {
    if (FORCED_RANK[level] > FORCED_RANK[this.forced]) this.forced = level
  }

  /** A new cookie from the options, for a new session (or a loaded one before its restore). */
  newCookie(): LiveCookie {
    const secure = this.settings.secure === 'auto' ? this.secureRequest : this.settings.secure
    return new LiveCookie(this.settings, secure, Date.now())
  }

  /** A new session id from `genid` (checked) or the default generator. */
  newId(): string {
    const genid = this.config.genid
    const id = genid === undefined ? generateId() : genid(this.req)
    if (!isValidId(id)) {
      throw new SessionError(
        'ERR_SESSION_OPTIONS',
        'typed-session: genid() must return 16 to 256 characters of A-Z a-z 0-9 _ -',
      )
    }
    return id
  }

  /** The schema's parse of `{}`: a new session's data with every default applied. */
  defaults(): Record<string, unknown> | Promise<Record<string, unknown>> {
    const check = (result: Awaited<ReturnType<typeof validate>>): Record<string, unknown> => {
      if (result.ok && isPlainObject(result.value)) return result.value
      throw new SessionError(
        'ERR_SESSION_OPTIONS',
        'typed-session: the schema cannot build a new session from {}',
        {
          issues: result.ok ? [] : result.issues,
        },
      )
    }
    const result = validate(this.config.schema, {})
    return result instanceof Promise ? result.then(check) : check(result)
  }

  /** When an absolute timeout ends this session, in ms since the epoch. */
  deadline(): number | undefined {
    const { absoluteTimeout } = this.config
    const createdAt = this.cookie.createdAt
    return absoluteTimeout === undefined || createdAt === undefined
      ? undefined
      : createdAt + absoluteTimeout
  }

  /**
   * Delete the stored record of the current id and make sure nothing writes it again; `record`
   * becomes `after`.
   */
  async endStoredSession(after: 'new' | 'destroyed'): Promise<void> {
    const id = this.id
    const entry = this.entry
    if (entry !== undefined) entry.destroyed = true
    const wasStored = this.record === 'stored'
    this.record = after
    this.release()
    // Logout is final (rack-session CVE-2025-46336, session resurrection): a write of an
    // overlapping request that is already on its way to a store without atomic writes (connect-redis
    // `set`) must land before the delete, never after it. `destroyed` stops writes not yet started.
    if (entry !== undefined && entry.pendingWrites > 0) await entry.queue.then(noop, noop)
    if (wasStored) await this.config.store.destroy(id)
  }

  /** Leave the registry entry (once). */
  release(): void {
    const entry = this.entry
    if (entry === undefined) return
    this.entry = undefined
    if (entry.takenFlash !== undefined && entry.refs > 1) this.shareTaken()
    this.config.registry.release(this.presentedId ?? this.id, entry)
  }

  /** Tell overlapping requests which messages this one has shown (a flash is shown once). */
  shareTaken(): void {
    const entry = this.entry
    // Shared even when this request is alone: one that joins later can still read the record from
    // before this request's write removes the message, and would show it a second time.
    if (entry === undefined) return
    entry.takenFlash ??= new Set()
    for (const key of this.flash.taken) entry.takenFlash.add(key)
  }

  /** Fail the request with `err` (a store or validation failure) before the handler ran. */
  fail(err: unknown): void {
    this.release()
    this.next(err)
  }

  /**
   * Report an event. The id is hashed here, only when someone listens: most apps set no `onEvent`,
   * and a flood of unknown or expired ids should not pay a SHA-256 each for nothing.
   */
  emit(event: PendingEvent): void {
    const onEvent = this.config.onEvent
    if (onEvent === undefined) return
    try {
      if (!('id' in event)) onEvent(event)
      else {
        const { id, ...rest } = event
        onEvent({ ...rest, idHash: hashId(id) } as SessionEvent)
      }
    } catch {
      // A throwing logger must not break the request it was told about.
    }
  }
}

/** A {@link SessionEvent} as the lifecycle raises it: with the raw id, hashed by `emit`. */
export type PendingEvent = SessionEvent extends infer TEvent
  ? TEvent extends { readonly idHash: string }
    ? Omit<TEvent, 'idHash'> & { readonly id: string }
    : TEvent
  : never

/**
 * Copy validated data onto `req.session`. With `order` (the record as stored), its keys come first,
 * in the stored order: the schema's output lists them in the schema's order, and an unchanged
 * session then serialises to exactly the JSON the store holds (what lets the in-process store take
 * a write whole, `replaceUnchanged` in write.ts). Keys the schema added follow.
 */
export function assignData(
  target: SessionObject,
  data: Record<string, unknown>,
  order?: Record<string, unknown>,
): void {
  const object = target as unknown as Record<string, unknown>
  if (order !== undefined) {
    for (const key of Object.keys(order)) {
      if (Object.hasOwn(data, key) && !FORBIDDEN_DATA_KEYS.has(key)) object[key] = data[key]
    }
  }
  for (const key of Object.keys(data)) {
    if (order !== undefined && Object.hasOwn(order, key)) continue // copied above
    // A loose schema may pass `__proto__` through: never let a stored key reach a prototype.
    if (!FORBIDDEN_DATA_KEYS.has(key)) object[key] = data[key]
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function noop(): void {}
