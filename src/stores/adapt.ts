import { SessionError } from '../errors.js'
import { ExpressCookie } from './express-cookie.js'
import { MemoryStore, type StoredParts } from './memory.js'
import type {
  SessionPatch,
  SessionRecord,
  SessionStore,
  StoredCookie,
  SyncWrites,
} from './types.js'

/**
 * Brand for native stores. A store that implements {@link SessionStore} (Promise methods, no
 * callbacks) can set `[nativeStore] = true` to be called exactly as written. Without it,
 * typed-session tells native from callback stores by arity: a method that declares a callback
 * parameter (`get(id, cb)`, `set(id, sess, cb)`...) is called with one.
 *
 * @example
 * ```ts
 * class MyStore implements SessionStore {
 *   readonly [nativeStore] = true
 *   async get(id: string) { ... }
 * }
 * ```
 */
export const nativeStore: unique symbol = Symbol.for('typed-session.native-store')

/** A store turned into the native contract by {@link toSessionStore}. */
export interface AdaptedStore extends SessionStore {
  /**
   * `false` after the store emitted `disconnect` and until it emits `connect`. Calls made
   * meanwhile fail at once with `ERR_SESSION_STORE` (no wait for the timeout); this flag is for
   * health checks.
   */
  readonly ready: boolean
  /**
   * Present when the store answers in-process ({@link MemoryStore}): `get`, without a promise, as
   * the record's data JSON and cookie ({@link MemoryStore.getPartsSync}).
   */
  readonly getSync?: ((id: string) => StoredParts | undefined) | undefined
  /** Present when the store answers in-process ({@link MemoryStore}): writes, done at once. */
  readonly writeSync?: SyncWrites | undefined
}

/** Options of {@link toSessionStore}. */
export interface AdaptOptions {
  /**
   * Milliseconds one store call may take before it rejects with `ERR_SESSION_STORE`. Not applied to
   * the in-process {@link MemoryStore}. A call that timed out was already sent: the store may still
   * apply it later (a write then lands after its request answered 503); it is never reported as
   * done.
   */
  timeoutMs: number
}

/**
 * What `get` resolves when the store failed to parse its own record (a `SyntaxError`, e.g. junk
 * planted in Redis: connect-redis passes JSON.parse's error). Not JSON, so typed-session treats it
 * as an invalid record (`onInvalid`, a fresh session by default) instead of failing the request.
 */
export const UNREADABLE_RECORD = '<unreadable session record>'

/** What a session id is replaced with in a store's error message. */
export const REDACTED_ID = '[session id]'

/** Longest part of a store's own error message copied into an `ERR_SESSION_STORE` message. */
const MAX_STORE_MESSAGE = 300

type Method =
  | 'get'
  | 'set'
  | 'destroy'
  | 'touch'
  | 'patch'
  | 'indexedIds'
  | 'unindex'
  | 'create'
  | 'takeFlash'
type StoreFunction = (...args: unknown[]) => unknown

// Position of the callback parameter of each express-session store method.
const CALLBACK_INDEX: Readonly<Record<Method, number>> = {
  get: 1,
  set: 2,
  destroy: 1,
  touch: 2,
  patch: 2,
  indexedIds: 1,
  unindex: 2,
  create: 2,
  takeFlash: 1,
}

/**
 * Turn any store into the native Promise contract, bounding every call by `timeoutMs`.
 *
 * Accepts native stores and every express-session store (classes extending express-session's
 * `Store` or plain objects): callbacks called synchronously, twice, or never; methods that return a
 * promise as well as (connect-redis 9) or instead of calling back; synchronous throws; `ENOENT`
 * from `get` (not found); a `SyntaxError` from `get` (an unreadable record: resolves
 * {@link UNREADABLE_RECORD}, which the core handles like any invalid record); `connect` /
 * `disconnect` events (while disconnected calls fail at once, never silently skip the session). Every call settles exactly once; a late answer is ignored.
 * The {@link MemoryStore} is called directly (it answers in-process and cannot hang) for as long as
 * its methods are its own; an overridden or wrapped method goes through the adapter.
 *
 * @throws {SessionError} `ERR_SESSION_OPTIONS` when `store` lacks `get`, `set` or `destroy`, or
 * `timeoutMs` is not a positive number.
 * @example
 * ```ts
 * const store = toSessionStore(new RedisStore({ client }), { timeoutMs: 5000 })
 * const record = await store.get(id) // rejects with ERR_SESSION_STORE after 5 s of silence
 * ```
 */
export function toSessionStore(store: unknown, options: AdaptOptions): AdaptedStore {
  const { timeoutMs } = options
  if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= 2_147_483_647)) {
    throw new SessionError(
      'ERR_SESSION_OPTIONS',
      '`storeTimeout` must be a number of milliseconds between 1 and 2147483647',
    )
  }
  if (!isStoreLike(store)) {
    throw new SessionError(
      'ERR_SESSION_OPTIONS',
      '`store` must be an object with `get`, `set` and `destroy` methods (a native SessionStore or an express-session store)',
    )
  }
  if (store instanceof MemoryStore) return memoryStore(store, timeoutMs)
  return new CallingAdapter(store, timeoutMs).toStore()
}

/**
 * The in-process store, without timers: the benchmark's hot path. The shortcut is taken per call,
 * only while the method is still the MemoryStore's own: a `get` overridden or wrapped later
 * (instrumentation, a test spy) runs, through the ordinary adapter with its timeout and its
 * `ENOENT` / error handling.
 */
function memoryStore(store: MemoryStore, timeoutMs: number): AdaptedStore {
  const own = MemoryStore.prototype
  let calling: CallingAdapter | undefined
  const adapter = (): CallingAdapter => {
    calling ??= new CallingAdapter(store as unknown as Record<string, unknown>, timeoutMs)
    return calling
  }
  const getSync = (id: string): StoredParts | undefined => store.getPartsSync(id)
  const writeSync: SyncWrites = {
    set: (id, record) => store.setSync(id, record),
    patch: (id, patch) => store.patchSync(id, patch),
    create: (id, record) => store.createSync(id, record),
    replace: (id, expected, data, cookie) => store.replaceSync(id, expected, data, cookie),
  }
  return {
    ready: true,
    get getSync() {
      return store.get === own.get && store.getPartsSync === own.getPartsSync ? getSync : undefined
    },
    // Only while every write is the MemoryStore's own: a wrapped `set` (a test spy) must see its calls.
    get writeSync() {
      return store.set === own.set &&
        store.patch === own.patch &&
        store.create === own.create &&
        store.setSync === own.setSync &&
        store.patchSync === own.patchSync &&
        store.createSync === own.createSync &&
        store.replaceSync === own.replaceSync
        ? writeSync
        : undefined
    },
    get: (id) => (store.get === own.get ? store.get(id) : adapter().call('get', [id])),
    set: (id, record) =>
      store.set === own.set
        ? store.set(id, record)
        : (adapter().call('set', [id, record]) as Promise<void>),
    destroy: (id) =>
      store.destroy === own.destroy
        ? store.destroy(id)
        : (adapter().call('destroy', [id]) as Promise<void>),
    touch: (id, record) =>
      store.touch === own.touch
        ? store.touch(id, record)
        : (adapter().call('touch', [id, record]) as Promise<void>),
    patch: (id, patch) =>
      store.patch === own.patch
        ? store.patch(id, patch)
        : adapter()
            .call('patch', [id, patch])
            .then((applied) => applied === true),
    indexedIds: (owner) => store.indexedIds(owner),
    create: (id, record) => store.create(id, record),
    takeFlash: (id) => store.takeFlash(id),
  }
}

/** Calls one store, with the timeout, the connection state and the answer-once rule. */
class CallingAdapter {
  readonly #store: Record<string, unknown>
  readonly #timeoutMs: number
  readonly #branded: boolean
  readonly #name: string
  /** `false` from a `disconnect` event to the next `connect`: calls meanwhile fail at once. */
  #ready = true

  constructor(store: Record<string, unknown>, timeoutMs: number) {
    this.#store = store
    this.#timeoutMs = timeoutMs
    const brand = (store as { [nativeStore]?: unknown })[nativeStore]
    this.#branded = brand !== undefined && brand !== false
    this.#name = storeName(store)
    const on = store.on
    if (typeof on === 'function') {
      on.call(store, 'disconnect', () => {
        this.#ready = false
      })
      on.call(store, 'connect', () => {
        this.#ready = true
      })
    }
  }

  toStore(): AdaptedStore {
    const adapter = this
    const store = this.#store
    const out: AdaptedStore = {
      get ready(): boolean {
        return adapter.#ready
      },
      get: (id: string) => this.call('get', [id]),
      set: (id: string, record: SessionRecord) =>
        this.call('set', [id, this.#handOver(record)]) as Promise<void>,
      destroy: (id: string) => this.call('destroy', [id]) as Promise<void>,
    }
    if (typeof store.touch === 'function') {
      out.touch = (id: string, record: SessionRecord) =>
        this.call('touch', [id, this.#handOver(record)]) as Promise<void>
    }
    // `patch` is not part of express-session's contract: only a native store's patch is trusted
    // to mean "apply atomically, false when missing".
    // The same for `create` and `takeFlash`, which express-session's contract does not have either.
    const native = this.#branded || fnLength(store.get) < 2
    if (native && typeof store.patch === 'function') {
      out.patch = (id: string, patch: SessionPatch) =>
        this.call('patch', [id, patch]).then((applied) => applied === true)
    }
    // The session index (issue 12) is native-only too: express-session has no such contract.
    if (out.patch !== undefined && typeof store.indexedIds === 'function') {
      out.indexedIds = (owner: string) =>
        this.call('indexedIds', [owner]).then((ids) => (Array.isArray(ids) ? ids : []))
      if (typeof store.unindex === 'function') {
        out.unindex = (owner: string, ids: readonly string[]) =>
          this.call('unindex', [owner, ids]) as Promise<void>
      }
    }
    if (native && typeof store.create === 'function') {
      out.create = (id: string, record: SessionRecord) =>
        this.call('create', [id, record]).then((created) => created === true)
    }
    if (native && out.patch !== undefined && typeof store.takeFlash === 'function') {
      out.takeFlash = (id: string) => this.call('takeFlash', [id])
    }
    return out
  }

  /**
   * The record as this store expects it: a native store gets the plain record; an express-session
   * store gets its `cookie` as an express-session `Cookie` look-alike (a `maxAge` getter, a `Date`
   * `expires`), which is what it computes the lifetime from.
   */
  #handOver(record: SessionRecord): SessionRecord {
    if (this.#branded) return record
    return { ...record, cookie: new ExpressCookie(record.cookie) as unknown as StoredCookie }
  }

  call(method: Method, args: unknown[]): Promise<unknown> {
    if (!this.#ready) {
      // The store said it is down (`disconnect`): fail now instead of holding every request for
      // the whole timeout; the next `connect` ends this. express-session skips the session
      // silently here, which logs users out without a word.
      return Promise.reject(
        new SessionError(
          'ERR_SESSION_STORE',
          `Session store ${this.#name} is disconnected (it emitted \`disconnect\`, no \`connect\` since): ${method} not attempted`,
        ),
      )
    }
    return new Promise((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => {
        settle(
          new SessionError(
            'ERR_SESSION_STORE',
            `Session store ${this.#name}.${method} did not answer within ${this.#timeoutMs} ms: it may still apply the call later`,
          ),
        )
      }, this.#timeoutMs)

      function settle(err: unknown, value?: unknown): void {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err === undefined) resolve(value)
        else reject(err)
      }

      const fail = (cause: unknown): void => settle(this.#error(method, args, cause))
      const callback = (err?: unknown, value?: unknown): void => {
        if (err === null || err === undefined || err === false) settle(undefined, value)
        else if (method === 'get' && isNotFound(err)) settle(undefined, null)
        else if (method === 'get' && err instanceof SyntaxError)
          settle(undefined, UNREADABLE_RECORD)
        else fail(err)
      }

      const start = (): void => {
        const fn = this.#store[method] as StoreFunction
        const declaresCallback = !this.#branded && fn.length > CALLBACK_INDEX[method]
        let result: unknown
        try {
          result = this.#branded
            ? fn.apply(this.#store, args)
            : fn.apply(this.#store, [...args, callback])
        } catch (err) {
          fail(err)
          return
        }
        if (isThenable(result)) {
          // connect-redis 9 both calls back and returns a promise: the callback is authoritative for
          // a method that declares one (a promise may resolve before a callback inside it fires);
          // a rejection is always an answer, and handling it means no unhandled rejection.
          result.then(
            (value) => {
              if (!declaresCallback) settle(undefined, value)
            },
            // The same rules as for a callback's error: ENOENT is "not found", a SyntaxError an
            // unreadable record.
            (err: unknown) =>
              callback(
                err === null || err === undefined || err === false
                  ? new Error('store promise rejected')
                  : err,
              ),
          )
        } else if (!declaresCallback && (this.#branded || result !== undefined)) {
          settle(undefined, result)
        }
      }

      start()
    })
  }

  #error(method: Method, args: readonly unknown[], cause: unknown): SessionError {
    const { code, message } = (typeof cause === 'object' && cause !== null ? cause : {}) as {
      code?: unknown
      message?: unknown
    }
    const codeText = typeof code === 'string' || typeof code === 'number' ? ` (${code})` : ''
    const text = typeof message === 'string' ? message : typeof cause === 'string' ? cause : ''
    // The store's own words are what tell "relation already exists" from "connection refused",
    // and Express's default error page shows only the message, never `cause`. They may name the
    // key, so the ids this call was given are taken out (OWASP: never log a replayable id).
    const detail = storeMessage(withoutIds(text, idsOf(method, args)))
    return new SessionError(
      'ERR_SESSION_STORE',
      `Session store ${this.#name}.${method} failed${codeText}${detail === '' ? '' : `: ${detail}`}`,
      { cause },
    )
  }
}

/**
 * `text` with every occurrence of each id replaced by {@link REDACTED_ID}. Used for the messages
 * built here and, by `redactStoreErrors`, for the store's own errors kept as `cause`.
 */
export function withoutIds(text: string, ids: readonly string[]): string {
  let out = text
  for (const id of ids) if (id !== '' && out.includes(id)) out = out.split(id).join(REDACTED_ID)
  return out
}

/** The session ids a store call names: its first argument, or the list `unindex` removes. */
function idsOf(method: Method, args: readonly unknown[]): string[] {
  const ids = method === 'indexedIds' ? [] : method === 'unindex' ? args[1] : [args[0]]
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : []
}

/** The first line of a store's message, trimmed and bounded, so the error stays one line. */
function storeMessage(text: string): string {
  const line = (text.split('\n', 1)[0] ?? '').trim()
  return line.length > MAX_STORE_MESSAGE ? `${line.slice(0, MAX_STORE_MESSAGE)}…` : line
}

function isStoreLike(store: unknown): store is Record<string, unknown> {
  if (typeof store !== 'object' || store === null) return false
  const s = store as Record<string, unknown>
  return (
    typeof s.get === 'function' && typeof s.set === 'function' && typeof s.destroy === 'function'
  )
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/** express-session treats `ENOENT` from `get` as "no session" (file-based stores use it). */
function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT'
}

function fnLength(fn: unknown): number {
  return typeof fn === 'function' ? fn.length : 0
}

function storeName(store: object): string {
  const name = (store as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'store'
}
