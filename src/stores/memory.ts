import { SessionError } from '../errors.js'
import { recordOwner } from '../owner/meta.js'
import { Store, type StoreCallback } from './store.js'
import type { SessionPatch, SessionRecord, SessionStore, StoredCookie } from './types.js'

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most sessions kept. Beyond it the least recently used session (read, written or touched) is
   * evicted, so a stream of one-shot visitors cannot grow the process without bound.
   * @default 10000
   */
  max?: number | undefined
  /**
   * How often, in milliseconds, expired sessions are swept in the background (an `unref()`'d
   * interval: it never keeps the process alive). `0` turns the sweeper off; expired sessions are
   * then still never returned, and are dropped when read or evicted.
   * @default 60000
   */
  checkPeriodMs?: number | undefined
}

// The stored form of one session is a single string, the cheapest thing a Map can hold:
//   13 digits of expiry (ms since the epoch, 0 = none) + 1 tag char + body.
// The tag is the index of the cookie's other attributes (`originalMaxAge`, `path`, `httpOnly`...)
// in a small table shared by every session, because those are the same for nearly all sessions;
// INLINE_COOKIE means the cookie JSON is in the body, before a NUL (JSON.stringify never emits a
// raw NUL). The body ends with the JSON of the data keys. `get` rebuilds the record JSON around it.
const EXPIRY_DIGITS = 13
const MAX_EXPIRY_MS = 9_999_999_999_999
const HEADER_LENGTH = EXPIRY_DIGITS + 1
const INLINE_COOKIE = 0xffff
// Apps have a handful of cookie shapes (one per maxAge used); the cap only matters for an app that
// gives every session its own maxAge, whose cookies then go inline.
const MAX_COOKIE_SHAPES = 1024
const DEFAULT_MAX = 10_000
const DEFAULT_CHECK_PERIOD_MS = 60_000
// The adapter's native-store brand (`nativeStore` in adapt.ts, which imports this file). The adapter
// calls a MemoryStore directly; the brand makes another copy of typed-session call it natively.
const NATIVE_STORE = Symbol.for('typed-session.native-store')
// The record slot of pending flash messages (connect-flash's place).
const FLASH_KEY = 'flash'

/**
 * The embedded default store: bounded, swept, and cheaper per session than express-session's
 * MemoryStore. Sessions live in this process only (lost on restart, not shared between processes):
 * use Redis or PostgreSQL in production.
 *
 * It implements the native {@link SessionStore} contract (Promise methods, atomic `patch`) and,
 * when given a callback, express-session's callback contract (`get/set/destroy/touch/all/length/
 * clear`), so it can replace express-session's `MemoryStore` in existing code. Values are kept as
 * JSON strings: two requests never share an object.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ max: 50_000, checkPeriodMs: 30_000 })
 * app.use(session({ schema, secret, store }))
 * ```
 */
export class MemoryStore extends Store implements SessionStore {
  readonly #max: number
  readonly #entries = new Map<string, string>()
  readonly #cookieShapes: string[] = []
  readonly #cookieShapeIndex = new Map<string, number>()
  /** Each shape parsed once, for `getPartsSync` (copied per call: callers own what they get). */
  readonly #shapeObjects: object[] = []
  // The per-owner index (issue 12), exact because it follows the data: id -> owner, owner -> ids.
  readonly #ownerOf = new Map<string, string>()
  readonly #idsOf = new Map<string, Set<string>>()
  #sweeper: NodeJS.Timeout | undefined

  /**
   * @throws {SessionError} `ERR_SESSION_OPTIONS` when `max` is not a positive integer or
   * `checkPeriodMs` is not a non-negative finite number.
   */
  constructor(options: MemoryStoreOptions = {}) {
    super()
    const max = options.max ?? DEFAULT_MAX
    const checkPeriodMs = options.checkPeriodMs ?? DEFAULT_CHECK_PERIOD_MS
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new SessionError('ERR_SESSION_OPTIONS', 'MemoryStore: `max` must be a positive integer')
    }
    if (!Number.isFinite(checkPeriodMs) || checkPeriodMs < 0) {
      throw new SessionError(
        'ERR_SESSION_OPTIONS',
        'MemoryStore: `checkPeriodMs` must be a number of milliseconds >= 0',
      )
    }
    this.#max = max
    if (checkPeriodMs > 0) {
      this.#sweeper = setInterval(() => this.prune(), checkPeriodMs)
      this.#sweeper.unref()
    }
  }

  /** Number of records held, including expired ones the sweeper has not removed yet. */
  get size(): number {
    return this.#entries.size
  }

  /**
   * The record under `id` as a JSON string, answered at once: the in-process store has no reason
   * to make a caller wait a tick (typed-session loads through this, so a request on the memory
   * store runs its handler in the same tick). `undefined` when there is none or it has expired.
   */
  getSync(id: string): string | undefined {
    return this.#read(id)
  }

  /**
   * The record under `id` as it is kept, at once: the JSON of its data (the `flash` slot included)
   * and its cookie, with `expires` a `Date`. What {@link getSync} answers, without the record's
   * JSON text built around the data only to be parsed again (typed-session loads through this).
   * `undefined` when there is none or it has expired.
   */
  getPartsSync(id: string): StoredParts | undefined {
    const value = this.#live(id)
    if (value === undefined) return undefined
    const ms = readExpiry(value)
    const attributes =
      value.charCodeAt(EXPIRY_DIGITS) === INLINE_COOKIE
        ? (JSON.parse(inlineCookieJson(value)) as object)
        : this.#shapeObjects[value.charCodeAt(EXPIRY_DIGITS)]!
    const cookie = { expires: ms === 0 ? null : new Date(ms), ...attributes } as StoredCookie
    return { data: bodyData(value), cookie }
  }

  /**
   * The record under `id` as a JSON string (parse it yourself), or `undefined` when there is none
   * or it has expired. With a callback (express-session style) it passes the parsed record.
   */
  get(id: string): Promise<string | undefined>
  get(id: string, callback: StoreCallback<SessionRecord | undefined>): void
  get(
    id: string,
    callback?: StoreCallback<SessionRecord | undefined>,
  ): Promise<string | undefined> | undefined {
    const json = this.#read(id)
    if (callback === undefined) return Promise.resolve(json)
    process.nextTick(callback, null, json === undefined ? undefined : JSON.parse(json))
    return undefined
  }

  /**
   * Create or replace the record under `id`. A record whose `cookie.expires` is in the past is
   * deleted instead. Rejects (or calls back) with the `JSON.stringify` error for data that is not
   * JSON (a `BigInt`, a cycle).
   */
  set(id: string, record: SessionRecord): Promise<void>
  set(id: string, record: SessionRecord, callback: (err?: unknown) => void): void
  set(
    id: string,
    record: SessionRecord,
    callback?: (err?: unknown) => void,
  ): Promise<void> | undefined {
    return answer(() => this.setSync(id, record), callback)
  }

  /** {@link MemoryStore.set}, done at once (throws instead of rejecting). */
  setSync(id: string, record: SessionRecord): void {
    const value = this.#encode(record.cookie, dataJson(record))
    this.#index(id, recordOwner(record))
    this.#write(id, value)
  }

  /** Delete the record under `id` (a missing record is fine). */
  destroy(id: string): Promise<void>
  destroy(id: string, callback: (err?: unknown) => void): void
  destroy(id: string, callback?: (err?: unknown) => void): Promise<void> | undefined {
    return answer(() => {
      this.#drop(id)
    }, callback)
  }

  /**
   * Replace the cookie (and so the expiry) of the record under `id`, keeping its data. Does
   * nothing when there is no record: touch never creates a session.
   */
  touch(id: string, record: SessionRecord): Promise<void>
  touch(id: string, record: SessionRecord, callback: (err?: unknown) => void): void
  touch(
    id: string,
    record: SessionRecord,
    callback?: (err?: unknown) => void,
  ): Promise<void> | undefined {
    return answer(() => {
      const current = this.#live(id)
      if (current !== undefined) this.#write(id, this.#encode(record.cookie, bodyData(current)))
    }, callback)
  }

  /**
   * Apply `patch` to the record under `id` in one step (nothing can run in between in this
   * process): set and unset keys on the record as it stands, replace the cookie. Resolves `false`
   * and writes nothing when there is no record, so a destroyed session is never resurrected.
   */
  patch(id: string, patch: SessionPatch): Promise<boolean> {
    try {
      return Promise.resolve(this.patchSync(id, patch))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** {@link MemoryStore.patch}, done at once (throws instead of rejecting). */
  patchSync(id: string, patch: SessionPatch): boolean {
    const current = this.#live(id)
    if (current === undefined) return false
    const data = JSON.parse(bodyData(current)) as Record<string, unknown>
    for (const key of patch.unset) delete data[key]
    for (const key of Object.keys(patch.set)) defineKey(data, key, patch.set[key])
    if (patch.flash !== undefined)
      defineKey(data, FLASH_KEY, appendFlash(data[FLASH_KEY], patch.flash))
    const value = this.#encode(patch.cookie, JSON.stringify(data))
    this.#index(id, recordOwner(data))
    this.#write(id, value)
    return true
  }

  /**
   * Replace the data of the record under `id` with `data` (JSON) and its cookie with `cookie`, only
   * if its data is still exactly `expected` (JSON, as this store holds it; no flash or owner slot):
   * the common case of one request writing the session it read, with no diff to compute. `false`
   * (nothing written) otherwise: the caller patches instead.
   */
  replaceSync(id: string, expected: string, data: string, cookie: StoredCookie): boolean {
    const current = this.#live(id)
    if (current === undefined || bodyData(current) !== expected) return false
    this.#write(id, this.#encode(cookie, data))
    return true
  }

  /**
   * Store `record` under `id` unless a live record is already there. Resolves `false` (and writes
   * nothing) when the id is taken.
   */
  create(id: string, record: SessionRecord): Promise<boolean> {
    try {
      return Promise.resolve(this.createSync(id, record))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** {@link MemoryStore.create}, done at once (throws instead of rejecting). */
  createSync(id: string, record: SessionRecord): boolean {
    if (this.#live(id) !== undefined) return false
    this.setSync(id, record)
    return true
  }

  /**
   * Remove the flash messages of the record under `id` and resolve them (an object of lists by
   * kind), or `undefined` when there is no record or no message. The rest of the record stays.
   */
  takeFlash(id: string): Promise<unknown> {
    try {
      const current = this.#live(id)
      if (current === undefined) return Promise.resolve(undefined)
      const data = JSON.parse(bodyData(current)) as Record<string, unknown>
      if (!Object.hasOwn(data, FLASH_KEY)) return Promise.resolve(undefined)
      const flash = data[FLASH_KEY]
      delete data[FLASH_KEY]
      this.#write(id, withData(current, JSON.stringify(data)))
      return Promise.resolve(flash)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Every live record, by id (express-session's `all`). */
  all(): Promise<Record<string, SessionRecord>>
  all(callback: StoreCallback<Record<string, SessionRecord>>): void
  all(
    callback?: StoreCallback<Record<string, SessionRecord>>,
  ): Promise<Record<string, SessionRecord>> | undefined {
    return answer(() => {
      this.prune()
      const out: Record<string, SessionRecord> = Object.create(null)
      for (const [id, value] of this.#entries) out[id] = JSON.parse(this.#decode(value))
      return out
    }, callback)
  }

  /** Number of live records (express-session's `length`). */
  length(): Promise<number>
  length(callback: StoreCallback<number>): void
  length(callback?: StoreCallback<number>): Promise<number> | undefined {
    return answer(() => {
      this.prune()
      return this.#entries.size
    }, callback)
  }

  /** Delete every record. */
  clear(): Promise<void>
  clear(callback: (err?: unknown) => void): void
  clear(callback?: (err?: unknown) => void): Promise<void> | undefined {
    return answer(() => {
      this.#entries.clear()
      this.#ownerOf.clear()
      this.#idsOf.clear()
    }, callback)
  }

  /**
   * The ids of the live sessions whose record names `owner` (the session index; typed-session's
   * `listSessions` and `revokeSessions` read it). Expired ones are dropped on the way.
   */
  indexedIds(owner: string): Promise<readonly string[]> {
    const ids = this.#idsOf.get(owner)
    if (ids === undefined) return Promise.resolve([])
    const now = Date.now()
    const live: string[] = []
    for (const id of ids) {
      const value = this.#entries.get(id)
      if (value === undefined || isExpired(value, now)) this.#drop(id)
      else live.push(id)
    }
    return Promise.resolve(live)
  }

  /** Remove every expired record now (the sweeper calls this every `checkPeriodMs`). */
  prune(): void {
    const now = Date.now()
    for (const [id, value] of this.#entries) {
      if (isExpired(value, now)) this.#drop(id)
    }
  }

  /** Stop the background sweeper. The store keeps working; expired records go when read. */
  close(): void {
    clearInterval(this.#sweeper)
    this.#sweeper = undefined
  }

  /** Same as {@link MemoryStore.close}, for `using store = new MemoryStore()`. */
  [Symbol.dispose](): void {
    this.close()
  }

  /** The live stored string under `id`, bumped to most recently used; expired ones are dropped. */
  #live(id: string): string | undefined {
    const value = this.#entries.get(id)
    if (value === undefined) return undefined
    if (isExpired(value, Date.now())) {
      this.#drop(id)
      return undefined
    }
    this.#entries.delete(id)
    this.#entries.set(id, value)
    return value
  }

  #read(id: string): string | undefined {
    const value = this.#live(id)
    return value === undefined ? undefined : this.#decode(value)
  }

  #write(id: string, value: string): void {
    if (isExpired(value, Date.now())) {
      this.#drop(id)
      return
    }
    this.#entries.delete(id)
    this.#entries.set(id, value)
    // A Map iterates in insertion order and every use re-inserts, so the first key is the least
    // recently used one.
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next()
      if (oldest.done === true) break
      this.#drop(oldest.value)
    }
  }

  /** Delete the record under `id`, and its index entry (destroy, expiry, eviction). */
  #drop(id: string): void {
    this.#entries.delete(id)
    if (this.#ownerOf.size > 0) this.#index(id, undefined)
  }

  /** File `id` under `owner` (`undefined`: under nobody). Anonymous sessions cost one lookup. */
  #index(id: string, owner: string | undefined): void {
    const previous = this.#ownerOf.get(id)
    if (previous === owner) return
    if (previous !== undefined) {
      const ids = this.#idsOf.get(previous)
      ids?.delete(id)
      if (ids?.size === 0) this.#idsOf.delete(previous)
    }
    if (owner === undefined) {
      this.#ownerOf.delete(id)
      return
    }
    this.#ownerOf.set(id, owner)
    let ids = this.#idsOf.get(owner)
    if (ids === undefined) {
      ids = new Set()
      this.#idsOf.set(owner, ids)
    }
    ids.add(id)
  }

  #encode(cookie: StoredCookie | undefined, data: string): string {
    const { expires, ...attributes } = plainCookie(cookie)
    const header = String(expiryMs(expires)).padStart(EXPIRY_DIGITS, '0')
    const attributesJson = JSON.stringify(attributes)
    const shape = this.#shapeOf(attributesJson)
    return shape === INLINE_COOKIE
      ? `${header}${String.fromCharCode(INLINE_COOKIE)}${attributesJson}\u0000${data}`
      : header + String.fromCharCode(shape) + data
  }

  #shapeOf(attributesJson: string): number {
    const known = this.#cookieShapeIndex.get(attributesJson)
    if (known !== undefined) return known
    if (this.#cookieShapes.length >= MAX_COOKIE_SHAPES) return INLINE_COOKIE
    this.#cookieShapes.push(attributesJson)
    this.#shapeObjects.push(Object.freeze(JSON.parse(attributesJson) as object))
    this.#cookieShapeIndex.set(attributesJson, this.#cookieShapes.length - 1)
    return this.#cookieShapes.length - 1
  }

  #decode(value: string): string {
    const ms = readExpiry(value)
    const attributes =
      value.charCodeAt(EXPIRY_DIGITS) === INLINE_COOKIE
        ? inlineCookieJson(value)
        : this.#cookieShapes[value.charCodeAt(EXPIRY_DIGITS)]!
    const data = bodyData(value)
    const expires = ms === 0 ? 'null' : `"${new Date(ms).toISOString()}"`
    return `{"cookie":{"expires":${expires}${attributes.length > 2 ? `,${attributes.slice(1)}` : '}'}${data.length > 2 ? `,${data.slice(1)}` : '}'}`
  }
}

Object.defineProperty(MemoryStore.prototype, NATIVE_STORE, { value: true })

/** A stored record as {@link MemoryStore.getPartsSync} answers it. */
export interface StoredParts {
  /** The JSON of the record without its `cookie`. */
  readonly data: string
  /** The record's cookie; `expires` is a `Date` or `null`. */
  readonly cookie: StoredCookie
}

/** The JSON of the record without its `cookie`. */
function dataJson(record: SessionRecord): string {
  // Rest destructuring copies with CreateDataProperty, so an own `__proto__` key stays a key.
  const { cookie: _cookie, ...data } = record
  return JSON.stringify(data)
}

/** The cookie as plain data: express-session hands over a `Cookie` instance (private `_expires`). */
function plainCookie(cookie: StoredCookie | undefined): Partial<StoredCookie> {
  if (cookie === undefined || cookie === null) return {}
  const toJSON = (cookie as { toJSON?: unknown }).toJSON
  return typeof toJSON === 'function' ? (toJSON.call(cookie) as Partial<StoredCookie>) : cookie
}

/** A stored string with its data JSON replaced; the expiry and cookie stay. */
function withData(value: string, data: string): string {
  const end =
    value.charCodeAt(EXPIRY_DIGITS) === INLINE_COOKIE
      ? value.indexOf('\u0000', HEADER_LENGTH) + 1
      : HEADER_LENGTH
  return value.slice(0, end) + data
}

/** Set `key` on `data` as an own property. */
function defineKey(data: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, not assignment: `data.__proto__ = v` would swap the prototype (prototype
  // pollution) instead of setting a key.
  Object.defineProperty(data, key, { value, enumerable: true, writable: true, configurable: true })
}

/**
 * The stored flash queue with `added` appended, kind by kind. A stored slot that is not an object
 * of lists (junk) is replaced: the messages of this request are the ones worth keeping.
 */
function appendFlash(
  stored: unknown,
  added: Readonly<Record<string, readonly unknown[]>>,
): Record<string, unknown[]> {
  const queue = Object.create(null) as Record<string, unknown[]>
  if (typeof stored === 'object' && stored !== null && !Array.isArray(stored)) {
    for (const [kind, list] of Object.entries(stored)) {
      if (Array.isArray(list)) queue[kind] = [...(list as unknown[])]
    }
  }
  for (const kind of Object.keys(added)) {
    const list = added[kind]!
    if (list.length > 0) queue[kind] = [...(queue[kind] ?? []), ...list]
  }
  return queue
}

/** The JSON of the cookie's attributes that a stored string tagged INLINE_COOKIE carries. */
function inlineCookieJson(value: string): string {
  return value.slice(HEADER_LENGTH, value.indexOf('\u0000', HEADER_LENGTH))
}

/** The data JSON at the end of a stored string. */
function bodyData(value: string): string {
  return value.charCodeAt(EXPIRY_DIGITS) === INLINE_COOKIE
    ? value.slice(value.indexOf('\u0000', HEADER_LENGTH) + 1)
    : value.slice(HEADER_LENGTH)
}

function expiryMs(expires: unknown): number {
  if (expires === null || expires === undefined) return 0
  const ms =
    expires instanceof Date
      ? expires.getTime()
      : typeof expires === 'string'
        ? Date.parse(expires)
        : Number.NaN
  // A cookie without a readable expiry is a browser-session cookie: kept until evicted.
  if (Number.isNaN(ms)) return 0
  // 0 means "no expiry", so an expiry at or before the epoch is stored as 1 ms: long expired.
  return Math.min(Math.max(ms, 1), MAX_EXPIRY_MS)
}

function readExpiry(value: string): number {
  let ms = 0
  for (let i = 0; i < EXPIRY_DIGITS; i++) ms = ms * 10 + value.charCodeAt(i) - 48
  return ms
}

function isExpired(value: string, now: number): boolean {
  const ms = readExpiry(value)
  return ms !== 0 && ms <= now
}

/**
 * Run a synchronous store operation and answer the way the caller asked: a promise, or an
 * express-session callback on the next tick (never synchronously, so callers see one order).
 */
function answer<T>(compute: () => T, callback?: StoreCallback<T>): Promise<T> | undefined {
  let value: T
  try {
    value = compute()
  } catch (err) {
    if (callback === undefined) return Promise.reject(err)
    process.nextTick(callback, err)
    return undefined
  }
  if (callback === undefined) return Promise.resolve(value)
  process.nextTick(callback, null, value)
  return undefined
}
