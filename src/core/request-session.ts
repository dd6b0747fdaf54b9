import type { ServerResponse } from 'node:http'
import type { LiveCookie } from '../cookie/live-cookie.js'
import { SessionError } from '../errors.js'
import { ownerSlotOf } from '../owner/meta.js'
import { validate } from '../schema/validate.js'
import { snapshotOf } from './changes.js'
import type { SessionConfig } from './config.js'
import { loadStoredFlash, openSession, parseRecord, validateData } from './load.js'
import type { SessionRequest } from './request-facts.js'
import { assignData, FLASH_KEY, isPlainObject, RequestState } from './request-state.js'
import { ResponseHook } from './response-hooks.js'
import { retireSession, SessionObject, type SessionOwner } from './session-object.js'
import { type ExposedSession, exposeShared } from './shared-hooks.js'
import { reloadedFlash } from './store-flash.js'
import { destroySession, refuseNested, writeSession } from './write.js'

/**
 * Session index (issue 12): a signed-in session that keeps data through `regenerate()` must still
 * exist. Revoked by another process while this request was in flight, it would otherwise come back
 * under a new id carrying the same login (the registry catches this within one process).
 */
async function assertStillStored(s: RequestState): Promise<void> {
  const raw = await s.config.store.get(s.id)
  if (raw !== undefined && raw !== null) return
  throw new SessionError(
    'ERR_SESSION_DESTROYED',
    'typed-session: regenerate() on a signed-in session that was ended meanwhile (revoked or logged out elsewhere)',
  )
}

/**
 * One request's session, from the cookie to the store write. The phases are one file each:
 * loading and the validation policy (`load.ts`), the response hooks (`response-hooks.ts`), the
 * commit and its decisions (`commit.ts`: `shouldSave`, `shouldTouch`, `shouldSetCookie`) with the
 * store writes (`write.ts`). The state they share is `RequestState` (`request-state.ts`), where each
 * field is described once. This class starts the phases and answers `req.session`'s members.
 */
export class RequestSession implements SessionOwner, ExposedSession {
  readonly #state: RequestState
  readonly #hook: ResponseHook
  #entered = false
  /** `req.sessionID`, `req.sessionStore` and `req.flash` are read through shared accessors. */
  #sharedMembers = false
  /** `req.sessionID`: the id when the session was last exposed. */
  exposedId = ''
  #flash: ((...args: [kind?: string, value?: unknown]) => unknown) | undefined

  constructor(
    config: SessionConfig,
    req: SessionRequest,
    res: ServerResponse,
    next: (err?: unknown) => void,
    exposed = true,
  ) {
    this.#state = new RequestState(config, req, res, next, this)
    this.#state.exposed = exposed
    this.#hook = new ResponseHook(this.#state)
  }

  get sessionStore(): unknown {
    return this.#state.config.userStore
  }

  get exposedFlash(): unknown {
    return this.#state.config.flashSchemas === undefined ? undefined : this.flash
  }

  /** The current session object once it is ready for handlers (after regenerate, the new one). */
  get current(): SessionObject | undefined {
    return this.#entered ? this.#state.object : undefined
  }

  /** Whether this session is `req.session` (see {@link RequestState.exposed}). */
  get exposed(): boolean {
    return this.#state.exposed
  }

  /** This session's `req.flash` function (the same one `req.flash` holds when exposed). */
  get flash(): (...args: [kind?: string, value?: unknown]) => unknown {
    this.#flash ??= this.#flashFunction()
    return this.#flash
  }

  /** `req.session = null` on a session that is not `req.session`: the `unset` option applies. */
  drop(): void {
    this.#state.dropped = true
  }

  get id(): string {
    return this.#state.id
  }

  get cookie(): LiveCookie {
    return this.#state.cookie
  }

  /** Run the middleware for this request. */
  start(): void {
    this.#state.sharedHooks = this.#hook.attach()
    const ready = openSession(this.#state)
    if (ready === true) this.#enter()
    else if (ready !== false) {
      ready.then(
        (ok) => {
          if (ok) this.#enter()
        },
        (err: unknown) => this.#state.fail(err),
      )
    }
  }

  // ---- SessionOwner: what req.session's members do --------------------------------------------

  async save(from: SessionObject): Promise<void> {
    this.#assertCurrent(from, 'save')
    const s = this.#state
    s.writeBlocked = false
    await writeSession(s)
    if (s.writeBlocked)
      throw new SessionError(
        'ERR_SESSION_DESTROYED',
        'typed-session: save() found the session ended meanwhile (logged out or revoked by another request); nothing was written',
      )
  }

  async reload(from: SessionObject): Promise<void> {
    this.#assertCurrent(from, 'reload')
    const s = this.#state
    if (s.record !== 'stored')
      throw new SessionError(
        'ERR_SESSION_MISUSE',
        'typed-session: reload() on a session that was never saved',
      )
    const raw = await s.config.store.get(s.id)
    if (raw === undefined || raw === null) {
      throw new SessionError(
        'ERR_SESSION_DESTROYED',
        'typed-session: the session no longer exists in the store',
      )
    }
    const record = parseRecord(s, raw, s.id)
    const data = typeof record === 'string' ? undefined : await validateData(s, record)
    if (typeof record === 'string' || data === undefined || !data.ok) {
      throw new SessionError(
        'ERR_SESSION_INVALID',
        'typed-session: the stored session no longer passes the schema',
      )
    }
    s.cookie.restore(record.cookie)
    if (s.config.owner !== undefined) s.ownerSlot = ownerSlotOf(record)
    for (const key of Object.keys(from)) delete (from as unknown as Record<string, unknown>)[key]
    assignData(from, data.value)
    s.flash = await reloadedFlash(s, record[FLASH_KEY], (stored) => loadStoredFlash(s, stored))
    s.snapshot = snapshotOf(from)
  }

  async regenerate(from: SessionObject, keep: readonly string[] | undefined): Promise<void> {
    this.#assertCurrent(from, 'regenerate')
    const s = this.#state
    if (s.entry?.destroyed === true) {
      // Another request of this process already ended (or regenerated) this session: a second
      // regenerate would open a second live session carrying the same data (SECURITY-CASES F4,
      // Spring's changeSessionId conflict). The request fails instead.
      throw new SessionError(
        'ERR_SESSION_DESTROYED',
        'typed-session: regenerate() on a session another request has already ended',
      )
    }
    const kept: Record<string, unknown> = {}
    for (const key of keep ?? []) {
      if (Object.hasOwn(from, key)) kept[key] = (from as unknown as Record<string, unknown>)[key]
    }
    // Kept values go through the schema again: they start the new session, so they must be valid.
    // Checked (and the new id made) before the old record goes: a failed regenerate changes nothing.
    const input = { ...(await s.defaults()), ...(JSON.parse(JSON.stringify(kept)) as object) }
    refuseNested(s, input, 'the kept data')
    const checked = await validate(s.config.schema, input)
    if (!checked.ok || !isPlainObject(checked.value)) {
      throw new SessionError(
        'ERR_SESSION_INVALID_DATA',
        'typed-session: kept keys fail the schema',
        {
          issues: checked.ok ? [] : checked.issues,
        },
      )
    }
    const id = s.newId()
    if (s.ownerSlot !== undefined && s.record === 'stored' && keep !== undefined && keep.length > 0)
      await assertStillStored(s)
    await s.endStoredSession('new')
    const next = new SessionObject(this)
    assignData(next, checked.value)
    retireSession(from, s.id, s.cookie)
    s.id = id
    s.snapshot = undefined
    s.record = 'new'
    s.requireWrite('save')
    // A new session is a new sign-in for the index: new handle, the owner's epoch taken again.
    s.ownerSlot = undefined
    // A new cookie from the options, as express-session's regenerate makes; the old one stays
    // with the retired object, so a stale reference cannot move the new session's expiry.
    s.cookie = s.newCookie()
    if (s.config.absoluteTimeout !== undefined) s.cookie.createdAt = Date.now()
    s.object = next
    this.#expose()
  }

  async destroy(from: SessionObject): Promise<void> {
    this.#assertCurrent(from, 'destroy')
    await destroySession(this.#state)
  }

  touch(from: SessionObject): void {
    this.#assertCurrent(from, 'touch')
    const s = this.#state
    s.touched = true
    s.cookie.renew(Date.now(), s.deadline())
  }

  #assertCurrent(from: SessionObject, member: string): void {
    const s = this.#state
    if (from !== s.object || s.record === 'destroyed') {
      throw new SessionError(
        'ERR_SESSION_DESTROYED',
        `typed-session: ${member}() on a session that was destroyed or replaced by regenerate()`,
      )
    }
  }

  // ---- Exposing on the request ------------------------------------------------------------------

  #enter(): void {
    this.#entered = true
    this.#expose()
    if (!this.#state.sharedHooks) this.#hook.wrap()
    this.#hook.active = true
    this.#state.next()
  }

  #expose(): void {
    const s = this.#state
    if (!s.exposed) return
    const req = s.req
    req.session = s.object
    this.exposedId = s.id
    this.#sharedMembers ||= exposeShared(req, this)
    if (!this.#sharedMembers) {
      req.sessionID = s.id
      req.sessionStore = s.config.userStore
    }
    // Also over a `req.flash` of connect-flash mounted before: the typed one is `req.flash`.
    if (
      s.config.flashSchemas !== undefined &&
      (!this.#sharedMembers || Object.hasOwn(req, 'flash'))
    )
      req.flash = this.flash
  }

  /** `req.flash`, connect-flash's signature, checked against the flash schemas. */
  #flashFunction(): (...args: [kind?: string, value?: unknown]) => unknown {
    const s = this.#state
    return (...args: [kind?: string, value?: unknown]): unknown => {
      const [kind, value] = args
      const flash = s.flash
      const takenElsewhere = s.entry?.takenFlash
      if (kind === undefined) {
        const all = flash.takeAll(takenElsewhere)
        s.shareTaken()
        return all
      }
      if (args.length >= 2) {
        const schemas = s.config.flashSchemas
        if (schemas === undefined || !Object.hasOwn(schemas, kind)) {
          throw new SessionError(
            'ERR_SESSION_MISUSE',
            `typed-session: unknown flash kind ${JSON.stringify(kind)}`,
          )
        }
        refuseNested(s, value, `the flash message of kind ${JSON.stringify(kind)}`)
        // A message that fails its schema would only be dropped on the next load: refuse it now,
        // as a save refuses invalid data. An async schema is left to the check on load.
        const checked = validate(schemas[kind]!, value)
        if (!(checked instanceof Promise) && !checked.ok) {
          throw new SessionError(
            'ERR_SESSION_INVALID_DATA',
            `typed-session: flash message of kind ${JSON.stringify(kind)} fails its schema`,
            { issues: checked.issues },
          )
        }
        return flash.add(kind, value)
      }
      const taken = flash.take(kind, takenElsewhere)
      s.shareTaken()
      return taken
    }
  }
}
