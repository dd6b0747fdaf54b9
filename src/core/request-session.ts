import type { ServerResponse } from 'node:http'
import { LiveCookie } from '../cookie/live-cookie.js'
import { hasDuplicateCookie, readCookie } from '../cookie/read.js'
import { cookieSettingsFor } from '../cookie/settings.js'
import { signId } from '../cookie/signature.js'
import { SessionError, type SessionIssue } from '../errors.js'
import { type Validation, validate } from '../schema/validate.js'
import type { SessionRecord } from '../stores/types.js'
import type { SessionConfig } from './config.js'
import { hashId, type SessionEvent } from './events.js'
import { type DroppedFlash, type FlashQueue, FlashState, loadFlash } from './flash.js'
import { generateId, isValidId } from './id.js'
import type { LiveEntry } from './registry.js'
import { isSecure, pathMatches, type SessionRequest } from './request-facts.js'
import { FORBIDDEN_DATA_KEYS } from './reserved-keys.js'
import { retireSession, SessionObject, type SessionOwner } from './session-object.js'

/** Keys of a stored record that are not session data. */
const COOKIE_KEY = 'cookie'
const FLASH_KEY = 'flash'

/** Headers that describe a response body, dropped when a failed commit replaces that body. */
const REPRESENTATION_HEADERS = [
  'content-length',
  'content-type',
  'content-encoding',
  'content-range',
  'content-language',
  'etag',
  'last-modified',
]

type EndArgs = Parameters<ServerResponse['end']>
type WriteHeadArgs = Parameters<ServerResponse['writeHead']>

/**
 * One request's session, from the cookie to the store write: load, validate, expose on `req`,
 * and commit before the response is released. The lifecycle decisions are small named methods
 * (`shouldSave`, `shouldTouch`, `shouldSetCookie`), as in express-session.
 */
export class RequestSession implements SessionOwner {
  readonly #config: SessionConfig
  readonly #req: SessionRequest
  readonly #res: ServerResponse
  readonly #next: (err?: unknown) => void

  id = ''
  cookie!: LiveCookie
  #object!: SessionObject
  #flash!: FlashState
  /**
   * The data as JSON when last loaded or saved: what "changed" is measured against. `undefined`
   * means "everything is new" (a repaired record, a regenerated session).
   */
  #snapshot: string | undefined
  /** The shared in-process entry of a session that exists in the store. */
  #entry: LiveEntry | undefined
  #entryVersion = 0
  /** The id the request's cookie carried (verified), if any. */
  #presentedId: string | undefined
  /** The cookie value that carried it, when the current secret signed it. */
  #presentedValue: string | undefined
  /** Whether a record for `id` exists in the store (loaded, or saved by this request). */
  #persisted = false
  /** Whether this request wrote the session data (so an expiring cookie must be resent). */
  #wrote = false
  #needsResign = false
  #touched = false
  #forceSave = false
  /** Write the whole record (a repaired one), never a patch on top of what the store holds. */
  #replace = false
  #destroyed = false
  /** Invalid flash messages were dropped on load: the stored queue must be rewritten without them. */
  #flashDropped = false
  #secureRequest = false
  #cookieAllowed = true
  #headerDone = false
  #ended = false
  #settings!: ReturnType<typeof cookieSettingsFor>

  constructor(
    config: SessionConfig,
    req: SessionRequest,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ) {
    this.#config = config
    this.#req = req
    this.#res = res
    this.#next = next
  }

  /** Run the middleware for this request. */
  start(): void {
    const config = this.#config
    const req = this.#req
    try {
      this.#settings = cookieSettingsFor(
        config.name,
        config.cookieOption,
        config.cookieSettings,
        req,
      )
    } catch (err) {
      this.#next(err)
      return
    }
    if (!pathMatches(req.originalUrl ?? req.url ?? '/', this.#settings.path)) {
      this.#next()
      return
    }
    this.#secureRequest = isSecure(req, config.proxy)
    const secure = this.#settings.secure === 'auto' ? this.#secureRequest : this.#settings.secure
    // A Secure cookie would be dropped on an insecure request, and the session saved for nothing
    // (express-session #281: orphan records).
    this.#cookieAllowed = !secure || this.#secureRequest

    const value = readCookie(req, config.name)
    if (
      value !== undefined &&
      config.onEvent !== undefined &&
      hasDuplicateCookie(req, config.name)
    ) {
      this.#emit({ type: 'duplicate_cookie' })
    }
    const verified = value === undefined ? null : config.verifier.verify(value)
    if (value !== undefined && verified === null) this.#emit({ type: 'invalid_signature' })
    if (verified !== null && !isValidId(verified.id)) {
      this.#emit({ type: 'malformed_id' })
    } else if (verified !== null) {
      this.#presentedId = verified.id
      this.#needsResign = verified.secretIndex > 0
      // Signed with the current secret: resending the cookie can reuse it instead of a new HMAC.
      if (verified.secretIndex === 0) this.#presentedValue = value
      let ready: boolean | Promise<boolean>
      try {
        ready = this.#load(verified.id)
      } catch (err) {
        this.#fail(err)
        return
      }
      if (ready === true) this.#enter()
      else if (ready !== false) {
        ready.then(
          (ok) => {
            if (ok) this.#enter()
          },
          (err: unknown) => this.#fail(err),
        )
      }
      return
    }
    const fresh = this.#fresh()
    if (fresh === true) this.#enter()
    else if (fresh !== false) fresh.then((ok) => ok && this.#enter())
  }

  // ---- SessionOwner: what req.session's members do --------------------------------------------

  async save(from: SessionObject): Promise<void> {
    this.#assertCurrent(from, 'save')
    await this.#write()
  }

  async reload(from: SessionObject): Promise<void> {
    this.#assertCurrent(from, 'reload')
    if (!this.#persisted)
      throw new SessionError(
        'ERR_SESSION_MISUSE',
        'typed-session: reload() on a session that was never saved',
      )
    const raw = await this.#config.store.get(this.id)
    if (raw === undefined || raw === null) {
      throw new SessionError(
        'ERR_SESSION_DESTROYED',
        'typed-session: the session no longer exists in the store',
      )
    }
    const record = this.#parseRecord(raw, this.id)
    const data = record === undefined ? undefined : await this.#validateData(record)
    if (record === undefined || data === undefined) {
      throw new SessionError(
        'ERR_SESSION_INVALID',
        'typed-session: the stored session no longer passes the schema',
      )
    }
    this.cookie.restore(record.cookie)
    for (const key of Object.keys(from)) delete (from as unknown as Record<string, unknown>)[key]
    this.#assign(from, data)
    this.#flash = new FlashState(await this.#loadFlash(record[FLASH_KEY]))
    this.#snapshot = snapshotOf(from)
  }

  async regenerate(from: SessionObject, keep: readonly string[] | undefined): Promise<void> {
    this.#assertCurrent(from, 'regenerate')
    if (this.#entry?.destroyed === true) {
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
    const input = { ...(await this.#defaults()), ...(JSON.parse(JSON.stringify(kept)) as object) }
    const checked = await validate(this.#config.schema, input)
    if (!checked.ok || !isPlainObject(checked.value)) {
      throw new SessionError(
        'ERR_SESSION_INVALID_DATA',
        'typed-session: kept keys fail the schema',
        {
          issues: checked.ok ? [] : checked.issues,
        },
      )
    }
    const id = this.#newId()
    await this.#endStoredSession()
    const next = new SessionObject(this)
    this.#assign(next, checked.value)
    retireSession(from, this.id, this.cookie)
    this.id = id
    this.#snapshot = undefined
    this.#persisted = false
    this.#forceSave = true
    // A new cookie from the options, as express-session's regenerate makes; the old one stays
    // with the retired object, so a stale reference cannot move the new session's expiry.
    this.cookie = this.#newCookie()
    if (this.#config.absoluteTimeout !== undefined) this.cookie.createdAt = Date.now()
    this.#object = next
    this.#expose()
  }

  async destroy(from: SessionObject): Promise<void> {
    this.#assertCurrent(from, 'destroy')
    this.#destroyed = true
    Object.freeze(from)
    // Clear the cookie only where the browser has one: a logout without a cookie sets nothing.
    if (this.#presentedId !== undefined || this.#persisted) this.#clearCookie()
    await this.#endStoredSession()
  }

  touch(from: SessionObject): void {
    this.#assertCurrent(from, 'touch')
    this.#touched = true
    this.cookie.renew(Date.now(), this.#deadline())
  }

  // ---- Loading ----------------------------------------------------------------------------------

  /**
   * Load `id` from the store; false when the request already failed. Synchronous all the way when
   * the store can answer at once (the in-process MemoryStore) and the schema is synchronous (zod,
   * valibot): the handler then runs in the same tick, with no promise made on the way.
   */
  #load(id: string): boolean | Promise<boolean> {
    const config = this.#config
    const entry = config.registry.acquire(id)
    this.#entry = entry
    // A write of another request may still be on its way to the store: merge with it, not with
    // what the store returns now.
    this.#entryVersion = entry.pendingWrites > 0 ? -1 : entry.version
    this.#res.once('close', () => this.#release())
    const { store } = config
    if (store.getSync !== undefined) return this.#loaded(id, entry, store.getSync(id))
    return store.get(id).then((raw) => this.#loaded(id, entry, raw))
  }

  /** Continue loading with what the store returned for `id`. */
  #loaded(id: string, entry: LiveEntry, raw: unknown): boolean | Promise<boolean> {
    const config = this.#config
    if (raw === undefined || raw === null || entry.destroyed) {
      this.#emit({ type: 'unknown_id', id: id })
      this.#release()
      return this.#fresh()
    }
    const record = this.#parseRecord(raw, id)
    if (record === undefined)
      return this.#invalid(
        id,
        [{ message: this.#recordProblem ?? 'the stored record is not a session object' }],
        undefined,
      )
    this.id = id
    this.#persisted = true
    this.cookie = this.#newCookie()
    this.cookie.restore(record.cookie)
    const now = Date.now()
    if (this.cookie.expires !== null && this.cookie.expires.getTime() <= now) {
      // Saves cap the stored expiry at the absolute deadline, so an idle expiry at that moment is
      // the absolute timeout: report it as such (attack detection counts the two apart).
      const deadline = this.#deadline()
      const type = deadline !== undefined && deadline <= now ? 'expired_absolute' : 'expired_idle'
      this.#emit({ type, id: id })
      return this.#discard()
    }
    if (config.absoluteTimeout !== undefined) {
      if (this.cookie.createdAt === undefined) {
        // Sessions from before the option was set start their absolute lifetime now.
        this.cookie.createdAt = now
        this.#forceSave = true
      } else if (this.cookie.createdAt + config.absoluteTimeout <= now) {
        this.#emit({ type: 'expired_absolute', id: id })
        return this.#discard()
      }
    }
    const data = this.#validateData(record)
    if (data instanceof Promise) return data.then((valid) => this.#accept(id, record, valid))
    return this.#accept(id, record, data)
  }

  /** Expose the validated data of a loaded record (or apply `onInvalid` when it failed). */
  #accept(
    id: string,
    record: SessionRecord,
    data: Record<string, unknown> | undefined,
  ): boolean | Promise<boolean> {
    if (data === undefined) return this.#invalidData(id, record)
    this.#object = new SessionObject(this)
    this.#assign(this.#object, data)
    const queue = this.#loadFlash(record[FLASH_KEY])
    if (queue instanceof Promise) return queue.then((loaded) => this.#ready(loaded))
    return this.#ready(queue)
  }

  #ready(queue: FlashQueue): true {
    this.#flash = new FlashState(queue)
    this.#snapshot = snapshotOf(this.#object)
    return true
  }

  /** Parse what the store returned into a record with a cookie, or `undefined` when it is junk. */
  #parseRecord(raw: unknown, id: string): SessionRecord | undefined {
    this.#recordProblem = undefined
    let value = raw
    if (typeof raw === 'string') {
      if (raw.length > this.#config.maxSessionBytes) return this.#tooLarge(id, raw.length)
      try {
        value = JSON.parse(raw)
      } catch {
        return undefined
      }
    } else if (typeof raw === 'object' && raw !== null) {
      // A store that parses for us (connect-redis, connect-pg-simple) is held to the same limit
      // (tj/connect-redis #354: sessions that grew until reading one took minutes). Measuring also
      // catches what cannot be serialised: a cycle, or nesting too deep for the stack.
      let bytes: number
      try {
        bytes = JSON.stringify(raw).length
      } catch {
        return undefined
      }
      if (bytes > this.#config.maxSessionBytes) return this.#tooLarge(id, bytes)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
    const cookie = (value as Record<string, unknown>)[COOKIE_KEY]
    if (typeof cookie !== 'object' || cookie === null) return undefined
    return value as SessionRecord
  }

  /** Why the last record was refused, when it was for its size (for the `onInvalid` report). */
  #recordProblem: string | undefined

  /** Refuse a stored record over `maxSessionBytes`, with a `too_large` report. */
  #tooLarge(id: string, bytes: number): undefined {
    this.#recordProblem = `the stored record is ${bytes} bytes, over maxSessionBytes (${this.#config.maxSessionBytes})`
    this.#emit({ type: 'too_large', id: id, bytes })
    return undefined
  }

  /** The record's data validated by the schema, or `undefined` (issues kept for the policy). */
  #lastIssues: readonly SessionIssue[] = []
  #validateData(
    record: SessionRecord,
  ): Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined> {
    const input: Record<string, unknown> = {}
    for (const key of Object.keys(record)) {
      if (key === COOKIE_KEY || key === FLASH_KEY || key === '__proto__') continue
      input[key] = record[key]
    }
    const result = validate(this.#config.schema, input)
    if (result instanceof Promise) return result.then((settled) => this.#dataOf(settled))
    return this.#dataOf(result)
  }

  #dataOf(result: Validation): Record<string, unknown> | undefined {
    if (result.ok && isPlainObject(result.value)) return result.value
    this.#lastIssues = result.ok
      ? [{ message: 'the schema output is not an object' }]
      : result.issues
    return undefined
  }

  #loadFlash(stored: unknown): FlashQueue | Promise<FlashQueue> {
    // Most records carry no flash: no promise for them.
    if (stored === undefined || stored === null) return Object.create(null) as FlashQueue
    return this.#validateFlash(stored)
  }

  async #validateFlash(stored: unknown): Promise<FlashQueue> {
    const dropped: DroppedFlash[] = []
    const queue = await loadFlash(stored, this.#config.flashSchemas, dropped)
    if (dropped.length > 0) {
      for (const drop of dropped) {
        this.#emit({
          type: 'invalid_flash',
          id: this.id,
          kind: drop.kind,
          issues: drop.issues,
        })
      }
      this.#forceSave = true
      this.#flashDropped = true
    }
    return queue
  }

  /** A record failed the schema: apply `onInvalid`. */
  async #invalidData(id: string, record: SessionRecord): Promise<boolean> {
    const issues = this.#lastIssues
    const policy = this.#config.onInvalid
    if (typeof policy === 'function') {
      const input: Record<string, unknown> = {}
      for (const key of Object.keys(record)) {
        if (key !== COOKIE_KEY && key !== FLASH_KEY && key !== '__proto__') input[key] = record[key]
      }
      this.#emit({ type: 'invalid_data', id: id, issues })
      let repaired: unknown
      try {
        repaired = await policy(input, issues)
      } catch (err) {
        this.#fail(err)
        return false
      }
      if (repaired !== undefined) {
        const result = await validate(this.#config.schema, repaired)
        if (result.ok && isPlainObject(result.value)) {
          this.#object = new SessionObject(this)
          this.#assign(this.#object, result.value)
          this.#flash = new FlashState(await this.#loadFlash(record[FLASH_KEY]))
          // The repaired data is saved even if the handler changes nothing.
          this.#snapshot = undefined
          this.#forceSave = true
          this.#replace = true
          return true
        }
        return this.#invalid(id, result.ok ? [] : result.issues, 'repair')
      }
      return this.#discard()
    }
    return this.#invalid(id, issues, undefined)
  }

  async #invalid(
    id: string,
    issues: readonly SessionIssue[],
    stage: 'repair' | undefined,
  ): Promise<boolean> {
    if (stage === undefined) this.#emit({ type: 'invalid_data', id: id, issues })
    if (this.#config.onInvalid === 'error') {
      this.#release()
      this.#fail(
        new SessionError(
          'ERR_SESSION_INVALID',
          'typed-session: the stored session fails the schema',
          { issues },
        ),
      )
      return false
    }
    this.id = id
    this.#persisted = true
    return this.#discard()
  }

  /** Destroy the loaded record (expired or invalid) and continue with a fresh session. */
  async #discard(): Promise<boolean> {
    await this.#endStoredSession()
    return this.#fresh()
  }

  /** Start a new, empty session with a new id; false when that failed (already reported). */
  #fresh(): boolean | Promise<boolean> {
    this.#persisted = false
    try {
      this.id = this.#newId()
    } catch (err) {
      this.#fail(err)
      return false
    }
    this.cookie = this.#newCookie()
    if (this.#config.absoluteTimeout !== undefined) this.cookie.createdAt = Date.now()
    this.#flash = new FlashState()
    this.#object = new SessionObject(this)
    const defaults = this.#defaults()
    if (defaults instanceof Promise) {
      return defaults.then(
        (data) => {
          this.#assign(this.#object, data)
          this.#snapshot = snapshotOf(this.#object)
          return true
        },
        (err: unknown) => {
          this.#fail(err)
          return false
        },
      )
    }
    this.#assign(this.#object, defaults)
    this.#snapshot = snapshotOf(this.#object)
    return true
  }

  /** The schema's parse of `{}`: a new session's data with every default applied. */
  #defaults(): Record<string, unknown> | Promise<Record<string, unknown>> {
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
    const result = validate(this.#config.schema, {})
    return result instanceof Promise ? result.then(check) : check(result)
  }

  #newId(): string {
    const genid = this.#config.genid
    const id = genid === undefined ? generateId() : genid(this.#req)
    if (!isValidId(id)) {
      throw new SessionError(
        'ERR_SESSION_OPTIONS',
        'typed-session: genid() must return 16 to 256 characters of A-Z a-z 0-9 _ -',
      )
    }
    return id
  }

  #newCookie(): LiveCookie {
    const secure = this.#settings.secure === 'auto' ? this.#secureRequest : this.#settings.secure
    return new LiveCookie(this.#settings, secure, Date.now())
  }

  // ---- Exposing on the request ------------------------------------------------------------------

  #enter(): void {
    this.#expose()
    const res = this.#res
    const end = res.end
    const writeHead = res.writeHead
    const self = this
    res.writeHead = function (this: ServerResponse, ...args: WriteHeadArgs) {
      self.#beforeHeaders()
      return writeHead.apply(this, args)
    } as ServerResponse['writeHead']
    res.end = function (this: ServerResponse, ...args: EndArgs) {
      if (self.#ended) return end.apply(this, args)
      self.#ended = true
      let pending: Promise<void> | undefined
      try {
        pending = self.#commit()
      } catch (err) {
        pending = Promise.reject(err)
      }
      if (pending === undefined) return end.apply(this, args)
      pending.then(
        () => end.apply(res, args),
        (err: unknown) => self.#commitFailed(err, () => end.apply(res, args)),
      )
      return res
    } as ServerResponse['end']
    this.#next()
  }

  #expose(): void {
    const req = this.#req
    req.session = this.#object
    req.sessionID = this.id
    req.sessionStore = this.#config.userStore
    if (this.#config.flashSchemas !== undefined) req.flash = this.#flashFunction()
  }

  #flashFunction(): (...args: [kind?: string, value?: unknown]) => unknown {
    return (...args: [kind?: string, value?: unknown]): unknown => {
      const [kind, value] = args
      const flash = this.#flash
      if (kind === undefined) {
        const all = flash.takeAll(this.#takenElsewhere())
        this.#shareTaken()
        return all
      }
      if (args.length >= 2) {
        const schemas = this.#config.flashSchemas
        if (schemas === undefined || !Object.hasOwn(schemas, kind)) {
          throw new SessionError(
            'ERR_SESSION_MISUSE',
            `typed-session: unknown flash kind ${JSON.stringify(kind)}`,
          )
        }
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
      const taken = flash.take(kind, this.#takenElsewhere())
      this.#shareTaken()
      return taken
    }
  }

  #takenElsewhere(): ReadonlySet<string> | undefined {
    return this.#entry?.takenFlash
  }

  /** Tell overlapping requests which messages this one has shown (a flash is shown once). */
  #shareTaken(): void {
    const entry = this.#entry
    // Shared even when this request is alone: one that joins later can still read the record from
    // before this request's write removes the message, and would show it a second time.
    if (entry === undefined) return
    entry.takenFlash ??= new Set()
    for (const key of this.#flash.taken) entry.takenFlash.add(key)
  }

  #assign(target: SessionObject, data: Record<string, unknown>): void {
    const object = target as unknown as Record<string, unknown>
    for (const key of Object.keys(data)) {
      // A loose schema may pass `__proto__` through: never let a stored key reach a prototype.
      if (!FORBIDDEN_DATA_KEYS.has(key)) object[key] = data[key]
    }
  }

  // ---- Committing -------------------------------------------------------------------------------

  /** Finish the session before the response is released; `undefined` when nothing is async. */
  #commit(): Promise<void> | undefined {
    const req = this.#req
    if (req.session !== this.#object && !this.#destroyed) {
      // `delete req.session` / `req.session = null`: express-session's `unset` option.
      if (this.#config.unset === 'destroy') return this.destroy(this.#object)
      this.#beforeHeaders()
      return undefined
    }
    if (this.#destroyed || (this.#res.statusCode >= 500 && !this.#config.saveOnServerError)) {
      this.#beforeHeaders()
      return undefined
    }
    const changes = this.#changes()
    if (this.#shouldSave(changes)) return this.#write(changes).then(() => this.#beforeHeaders())
    if (this.#shouldTouch()) return this.#touchStore().then(() => this.#beforeHeaders())
    this.#beforeHeaders()
    return undefined
  }

  /** A store or validation failure at the end of the request: the error handler answers instead. */
  #commitFailed(err: unknown, release: () => void): void {
    // Only a store failure is a `store_error`; data errors (too large, invalid) report themselves.
    if (!(err instanceof SessionError) || err.code === 'ERR_SESSION_STORE')
      this.#emit({ type: 'store_error', operation: 'commit', error: err })
    if (this.#res.headersSent) {
      // Too late to change the answer (a streamed response): end it; the event reported the loss.
      release()
      return
    }
    this.#headerDone = true
    // The handler's body was never sent: its representation headers describe that body, not the
    // error page. A stale Content-Length desynchronises a keep-alive connection (the client reads
    // the next response as the rest of this one: response splitting).
    for (const name of REPRESENTATION_HEADERS) this.#res.removeHeader(name)
    this.#next(err)
  }

  /** Whether this request must write the session. */
  #shouldSave(changes: Changes): boolean {
    if (!this.#cookieAllowed && !this.#persisted) return false
    if (this.#persisted)
      return changes.any || this.#config.resave || this.#forceSave || this.cookie.changed
    return changes.any || this.#forceSave || this.#config.saveUninitialized || this.#flash.changed
  }

  /**
   * Whether an unchanged session should extend its life in the store. Only when that moves a
   * deadline the user relies on: with `rolling` the browser gets a new expiry, a browser-session
   * cookie has no expiry but the store's, and `touch()` asks for it. Otherwise the cookie expires
   * when it expires and touching the store on every read would only cost a round trip.
   */
  #shouldTouch(): boolean {
    if (!this.#persisted || this.#config.store.touch === undefined) return false
    return this.#config.rolling || this.#touched || this.cookie.originalMaxAge === null
  }

  /** Whether the response carries the session cookie. */
  #shouldSetCookie(): boolean {
    if (this.#destroyed || !this.#cookieAllowed) return false
    if (this.id !== this.#presentedId) return this.#persisted
    return (
      this.#config.rolling ||
      this.#needsResign ||
      this.#touched ||
      this.cookie.changed ||
      (this.#wrote && this.cookie.expires !== null)
    )
  }

  /** Set the cookie header once, just before the headers go out. */
  #beforeHeaders(): void {
    if (this.#headerDone) return
    this.#headerDone = true
    if (!this.#ended && !this.#destroyed && this.id !== this.#presentedId && !this.#persisted) {
      // Headers flushed before the end (a streamed response): a new session that is already
      // changed will be saved at the end, so it gets its cookie now.
      let changes: Changes
      try {
        changes = this.#changes()
      } catch {
        return // reported when the request ends and the save fails
      }
      if (this.#cookieAllowed && this.#shouldSave(changes)) {
        this.#appendCookie(this.cookie.serialize(this.#config.name, this.#signedValue()))
      }
      return
    }
    if (!this.#shouldSetCookie()) return
    if (this.#config.rolling && !this.#wrote) this.cookie.renew(Date.now(), this.#deadline())
    this.#appendCookie(this.cookie.serialize(this.#config.name, this.#signedValue()))
  }

  /** The cookie value for the current id: the presented one when it is still right, else signed. */
  #signedValue(): string {
    if (this.#presentedValue !== undefined && this.id === this.#presentedId)
      return this.#presentedValue
    return signId(this.id, this.#config.secrets[0]!)
  }

  #clearCookie(): void {
    if (this.#res.headersSent) return
    this.#appendCookie(this.cookie.serializeClear(this.#config.name))
    this.#headerDone = true
  }

  #appendCookie(header: string): void {
    const res = this.#res
    if (res.headersSent) return
    const previous = res.getHeader('Set-Cookie')
    if (previous === undefined) res.setHeader('Set-Cookie', header)
    else
      res.setHeader(
        'Set-Cookie',
        Array.isArray(previous) ? [...previous, header] : [String(previous), header],
      )
  }

  /**
   * Whether the handler changed the data, measured against the snapshot: one `JSON.stringify` and
   * a string compare. The per-key diff is left to the writes that need it (a merge, a `patch`).
   */
  #changes(): Changes {
    const data = this.#object as unknown as Record<string, unknown>
    let json: string
    try {
      json = JSON.stringify(data)
    } catch (cause) {
      throw new SessionError(
        'ERR_SESSION_INVALID_DATA',
        `typed-session: session key "${unserializableKey(data)}" cannot be saved as JSON`,
        { cause },
      )
    }
    const snapshot = this.#snapshot
    return { any: json !== snapshot || this.#flash.changed, json, snapshot }
  }

  /** Write the session now (explicit `save()` or the end of the request). */
  async #write(changes: Changes = this.#changes()): Promise<void> {
    if (this.#destroyed)
      throw new SessionError('ERR_SESSION_DESTROYED', 'typed-session: the session was destroyed')
    const config = this.#config
    if (changes.json.length > config.maxSessionBytes) {
      this.#emit({ type: 'too_large', id: this.id, bytes: changes.json.length })
      throw new SessionError(
        'ERR_SESSION_TOO_LARGE',
        `typed-session: the session is ${changes.json.length} bytes, over maxSessionBytes (${config.maxSessionBytes})`,
      )
    }
    // Nothing invalid is ever written: the next load would have to throw it away.
    const plain = JSON.parse(changes.json) as Record<string, unknown>
    const result = await validate(config.schema, plain)
    if (!result.ok) {
      throw new SessionError(
        'ERR_SESSION_INVALID_DATA',
        'typed-session: the session data fails the schema',
        {
          issues: result.issues,
        },
      )
    }
    const dropped = Object.keys(plain).filter((key) => !Object.hasOwn(result.value as object, key))
    if (dropped.length > 0) {
      throw new SessionError(
        'ERR_SESSION_INVALID_DATA',
        `typed-session: session key(s) ${dropped.map((key) => `"${key}"`).join(', ')} are not in the schema and would be lost: add them to it`,
      )
    }
    this.cookie.renew(Date.now(), this.#deadline())
    const entry = this.#entry
    const record = this.#merge(plain, changes, entry) as SessionRecord
    const flash = record[FLASH_KEY]
    const id = this.id
    const store = config.store
    if (entry !== undefined) {
      entry.version++
      this.#entryVersion = entry.version
      entry.latestJson = latestJson(record, changes.json, plain)
      entry.pendingWrites++
    }
    let diff: Diff | undefined
    const write = async (): Promise<void> => {
      if (entry?.destroyed === true) {
        this.#emit({ type: 'resurrection_blocked', id: id })
        return
      }
      if (store.patch !== undefined && this.#persisted && !this.#replace) {
        diff ??= diffOf(plain, changes.snapshot)
        const patchSet = { ...diff.set }
        const flashChanged = this.#flash.changed || this.#flashDropped
        // An emptied queue is unset, not stored as `{}`, as a full write would leave it.
        if (flashChanged && flash !== undefined) patchSet[FLASH_KEY] = flash
        const unset = flash === undefined && flashChanged ? [...diff.unset, FLASH_KEY] : diff.unset
        const applied = await store.patch(id, { set: patchSet, unset, cookie: record.cookie })
        if (!applied) this.#emit({ type: 'resurrection_blocked', id: id })
        return
      }
      await store.set(id, record)
    }
    try {
      // Writes to one session reach the store in the order they were merged. A write queued behind
      // one that failed fails with it instead of waiting its own turn: behind a hanging store, N
      // queued writes would otherwise hold the last request for N * storeTimeout.
      const run =
        entry === undefined || entry.pendingWrites === 1 ? write() : entry.queue.then(write)
      if (entry !== undefined) entry.queue = run
      run.catch(() => undefined)
      await run
    } finally {
      if (entry !== undefined) entry.pendingWrites--
    }
    this.#persisted = true
    this.#wrote = true
    this.#forceSave = false
    this.#flashDropped = false
    this.#replace = false
    this.cookie.changed = false
    this.#snapshot = changes.json
    this.#flash = new FlashState(this.#flash.queue)
  }

  /**
   * The record to write: this request's data, or, when another request of this process wrote the
   * session since this one loaded it, that newer record with only this request's changes on top.
   */
  #merge(
    plain: Record<string, unknown>,
    changes: Changes,
    entry: LiveEntry | undefined,
  ): Record<string, unknown> {
    if (
      entry === undefined ||
      entry.version === this.#entryVersion ||
      entry.latestJson === undefined
    ) {
      const record: Record<string, unknown> = plain
      if (!this.#flash.isEmpty) record[FLASH_KEY] = this.#flash.queue
      record[COOKIE_KEY] = this.cookie.toJSON()
      return record
    }
    const base = JSON.parse(entry.latestJson) as Record<string, unknown>
    const { set, unset } = diffOf(plain, changes.snapshot)
    for (const key of Object.keys(set)) base[key] = set[key]
    for (const key of unset) delete base[key]
    const flash = this.#flash.mergeInto(base[FLASH_KEY])
    delete base[FLASH_KEY]
    if (Object.keys(flash).length > 0) base[FLASH_KEY] = flash
    base[COOKIE_KEY] = this.cookie.toJSON()
    return base
  }

  async #touchStore(): Promise<void> {
    const entry = this.#entry
    if (entry?.destroyed === true) return
    this.cookie.renew(Date.now(), this.#deadline())
    const record = { cookie: this.cookie.toJSON() } as SessionRecord
    const data = this.#object as unknown as Record<string, unknown>
    for (const key of Object.keys(data)) record[key] = data[key]
    await this.#config.store.touch!(this.id, record)
  }

  /** Delete the stored record of the current id and make sure nothing writes it again. */
  async #endStoredSession(): Promise<void> {
    const id = this.id
    const entry = this.#entry
    if (entry !== undefined) entry.destroyed = true
    const wasPersisted = this.#persisted
    this.#persisted = false
    this.#release()
    // Logout is final (rack-session CVE-2025-46336, session resurrection): a write of an
    // overlapping request that is already on its way to a store without atomic writes (connect-redis
    // `set`) must land before the delete, never after it. `destroyed` stops writes not yet started.
    if (entry !== undefined && entry.pendingWrites > 0) await entry.queue.then(noop, noop)
    if (wasPersisted) await this.#config.store.destroy(id)
  }

  #release(): void {
    const entry = this.#entry
    if (entry === undefined) return
    this.#entry = undefined
    if (entry.takenFlash !== undefined && entry.refs > 1) this.#shareTaken()
    this.#config.registry.release(this.#presentedId ?? this.id, entry)
  }

  /** When an absolute timeout ends this session, in ms since the epoch. */
  #deadline(): number | undefined {
    const { absoluteTimeout } = this.#config
    const createdAt = this.cookie.createdAt
    return absoluteTimeout === undefined || createdAt === undefined
      ? undefined
      : createdAt + absoluteTimeout
  }

  #assertCurrent(from: SessionObject, member: string): void {
    if (from !== this.#object || this.#destroyed) {
      throw new SessionError(
        'ERR_SESSION_DESTROYED',
        `typed-session: ${member}() on a session that was destroyed or replaced by regenerate()`,
      )
    }
  }

  /** Fail the request with `err` (a store or validation failure) before the handler ran. */
  #fail(err: unknown): void {
    this.#release()
    this.#next(err)
  }

  /**
   * Report an event. The id is hashed here, only when someone listens: most apps set no `onEvent`,
   * and a flood of unknown or expired ids should not pay a SHA-256 each for nothing.
   */
  #emit(event: PendingEvent): void {
    const onEvent = this.#config.onEvent
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

/** A {@link SessionEvent} as the lifecycle raises it: with the raw id, hashed by `#emit`. */
type PendingEvent = SessionEvent extends infer TEvent
  ? TEvent extends { readonly idHash: string }
    ? Omit<TEvent, 'idHash'> & { readonly id: string }
    : TEvent
  : never

/** The result of comparing the session with its snapshot. */
interface Changes {
  readonly any: boolean
  /** The whole data as JSON. */
  readonly json: string
  /** The snapshot it was compared with. */
  readonly snapshot: string | undefined
}

/** The data keys one request set (or changed) and dropped. */
interface Diff {
  readonly set: Record<string, unknown>
  readonly unset: readonly string[]
}

/**
 * What `plain` (the data about to be written, parsed from its JSON) changed against `snapshot`,
 * key by key. The stored `cookie` and `flash` slots are not data and are left to the caller.
 */
function diffOf(plain: Record<string, unknown>, snapshot: string | undefined): Diff {
  const before = snapshot === undefined ? {} : (JSON.parse(snapshot) as Record<string, unknown>)
  // No prototype: a key named `__proto__` stays a key instead of reaching a prototype.
  const set = Object.create(null) as Record<string, unknown>
  const unset: string[] = []
  for (const key of Object.keys(plain)) {
    if (key === COOKIE_KEY || key === FLASH_KEY) continue
    if (!Object.hasOwn(before, key) || JSON.stringify(plain[key]) !== JSON.stringify(before[key])) {
      set[key] = plain[key]
    }
  }
  for (const key of Object.keys(before)) {
    if (!Object.hasOwn(plain, key)) unset.push(key)
  }
  return { set, unset }
}

function noop(): void {}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The snapshot of a session's data: its JSON, as a save would write it. */
function snapshotOf(object: SessionObject): string {
  return JSON.stringify(object)
}

/** The first key whose value `JSON.stringify` refuses (a cycle, a BigInt), for the error message. */
function unserializableKey(data: Record<string, unknown>): string {
  for (const key of Object.keys(data)) {
    try {
      JSON.stringify(data[key])
    } catch {
      return key
    }
  }
  return '?'
}

/**
 * The record as written, without its cookie, as JSON: what an overlapping request merges onto.
 * When the record is this request's own data it is the JSON already made (`dataJson`), plus the
 * flash queue; only a merged record is serialized again.
 */
function latestJson(
  record: Record<string, unknown>,
  dataJson: string,
  plain: Record<string, unknown>,
): string {
  if (record !== plain) {
    const { cookie: _cookie, ...latest } = record
    return JSON.stringify(latest)
  }
  const flash = record[FLASH_KEY]
  if (flash === undefined) return dataJson
  const separator = dataJson === '{}' ? '' : ','
  return `${dataJson.slice(0, -1)}${separator}"${FLASH_KEY}":${JSON.stringify(flash)}}`
}
