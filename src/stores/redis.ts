import { createHash } from 'node:crypto'
import { SessionError } from '../errors.js'
import { patchOwner, recordOwner } from '../owner/meta.js'
import { RedisOwnerIndex } from '../owner/redis-index.js'
import { PATCH_SCRIPT } from './redis-script.js'
import { cookieExpiryMs, plainCookie } from './stored-cookie.js'
import type { SessionPatch, SessionRecord, SessionStore, StoredCookie } from './types.js'

/**
 * What {@link RedisStore} needs of a node-redis 5 client: a connected `createClient()` or
 * `createCluster()` (both have these methods; the cluster routes each call by its one key).
 * Typed loosely so any node-redis 5 client, with or without modules and scripts, fits.
 */
export interface RedisClientLike {
  get(...args: never[]): Promise<unknown>
  set(...args: never[]): Promise<unknown>
  del(...args: never[]): Promise<unknown>
  evalSha(...args: never[]): Promise<unknown>
  eval(...args: never[]): Promise<unknown>
}

/** Options of {@link RedisStore}: connect-redis 9's names and defaults. */
export interface RedisStoreOptions {
  /** A connected node-redis 5 client: `createClient()` or `createCluster()`. */
  client: RedisClientLike
  /**
   * Prefix of every key; the key of a session is `prefix + id`.
   * @default 'sess:'
   */
  prefix?: string | undefined
  /**
   * Seconds a record lives when its cookie has no expiry (a browser-session cookie), or a function
   * of the record giving the seconds for every record (as connect-redis).
   * @default 86400 (one day)
   */
  ttl?: number | ((record: SessionRecord) => number) | undefined
  /**
   * Make `touch` do nothing (connect-redis' `disableTouch`): an unchanged session then expires at
   * the time of its last write.
   * @default false
   */
  disableTouch?: boolean | undefined
}

const DEFAULT_PREFIX = 'sess:'
const DEFAULT_TTL_SECONDS = 86_400
const FLASH_KEY = 'flash'
// The adapter's native-store brand (`nativeStore` in adapt.ts): call these methods as written.
const NATIVE_STORE = Symbol.for('typed-session.native-store')
const SCRIPT_SHA = createHash('sha1').update(PATCH_SCRIPT).digest('hex')

type Reply = [status: number, flash?: string]
interface RedisCalls {
  get(key: string): Promise<string | null>
  set(
    key: string,
    value: string,
    options: { expiration: { type: 'PX'; value: number }; condition?: 'NX' },
  ): Promise<string | null>
  del(key: string): Promise<number>
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
}

/**
 * A native Redis store for node-redis 5 (`createClient` and `createCluster`), in connect-redis 9's
 * format: the key is `prefix + id`, the value the express-session JSON, the TTL runs to
 * `cookie.expires` (`ttl` seconds when the cookie has none). An app moves from connect-redis to
 * it, and back, with nobody logged out: change the import.
 *
 * What it adds over connect-redis, across any number of processes:
 * - `patch` applies one request's changed keys inside Redis in one atomic script, and writes
 *   nothing when the key is gone: concurrent writes to different keys all land, and a logout or
 *   regenerate in one process is final for every other.
 * - `create` writes a new session only if its id is free (`SET NX`).
 * - `touch` moves the expiry (and the stored `cookie`) only of a key that exists.
 * - `takeFlash` and `patch`'s flash append make a flash message shown once and never lost.
 * - Every call touches one key, so it runs on Redis Cluster.
 *
 * `get` returns the stored JSON string: typed-session checks its size before parsing it.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * import { RedisStore } from 'typed-session/redis'
 * const client = await createClient({ url: process.env.REDIS_URL }).connect()
 * app.use(session({ schema, secret, store: new RedisStore({ client, prefix: 'myapp:' }) }))
 * ```
 */
export class RedisStore implements SessionStore {
  readonly #client: RedisCalls
  readonly #ttl: number | ((record: SessionRecord) => number)
  readonly #disableTouch: boolean
  /** The per-owner session index (issue 12): a set per owner, written before the session key. */
  readonly #owners: RedisOwnerIndex
  /** The key prefix (connect-redis' `prefix`). */
  readonly prefix: string

  /**
   * @throws {SessionError} `ERR_SESSION_OPTIONS` when `client` is not a node-redis client or `ttl`
   * is not a positive number of seconds (or a function).
   */
  constructor(options: RedisStoreOptions) {
    const client = options?.client as unknown as Record<string, unknown> | undefined
    if (
      typeof client !== 'object' ||
      client === null ||
      !['get', 'set', 'del', 'evalSha', 'eval'].every((m) => typeof client[m] === 'function')
    ) {
      throw new SessionError(
        'ERR_SESSION_OPTIONS',
        'RedisStore: `client` must be a node-redis 5 client (createClient() or createCluster())',
      )
    }
    const ttl = options.ttl ?? DEFAULT_TTL_SECONDS
    if (
      typeof ttl !== 'function' &&
      !(typeof ttl === 'number' && ttl > 0 && Number.isFinite(ttl))
    ) {
      throw new SessionError(
        'ERR_SESSION_OPTIONS',
        'RedisStore: `ttl` must be a positive number of seconds',
      )
    }
    if (options.prefix !== undefined && typeof options.prefix !== 'string') {
      throw new SessionError('ERR_SESSION_OPTIONS', 'RedisStore: `prefix` must be a string')
    }
    this.#client = client as unknown as RedisCalls
    this.#ttl = ttl
    this.#disableTouch = options.disableTouch === true
    this.prefix = options.prefix ?? DEFAULT_PREFIX
    this.#owners = new RedisOwnerIndex(this.#client, this.prefix)
  }

  /** The stored JSON of `id`, or `null` when there is none (Redis drops expired keys itself). */
  async get(id: string): Promise<string | null> {
    return this.#client.get(this.prefix + id)
  }

  /** Create or replace the record of `id`; a record already expired is deleted instead. */
  async set(id: string, record: SessionRecord): Promise<void> {
    const ttlMs = this.#ttlMs(record)
    if (ttlMs <= 0) {
      await this.destroy(id)
      return
    }
    await this.#index(recordOwner(record), id, ttlMs)
    await this.#client.set(this.prefix + id, JSON.stringify(record), {
      expiration: { type: 'PX', value: ttlMs },
    })
  }

  /** Store `record` under `id` only if the key is free (`SET NX`); `false` when it was taken. */
  async create(id: string, record: SessionRecord): Promise<boolean> {
    const ttlMs = this.#ttlMs(record)
    // An already expired record is not stored, and the id stays free: nothing was created.
    if (ttlMs <= 0) return false
    await this.#index(recordOwner(record), id, ttlMs)
    const reply = await this.#client.set(this.prefix + id, JSON.stringify(record), {
      expiration: { type: 'PX', value: ttlMs },
      condition: 'NX',
    })
    return reply === 'OK'
  }

  /** Delete the record of `id` (a missing one is fine). */
  async destroy(id: string): Promise<void> {
    await this.#client.del(this.prefix + id)
  }

  /**
   * Move the expiry of an existing record to `record.cookie.expires`, and store that cookie with
   * it (typed-session checks the stored expiry on load). Never creates a record.
   */
  async touch(id: string, record: SessionRecord): Promise<void> {
    if (this.#disableTouch) return
    const ttlMs = this.#ttlMs(record)
    // The owner's set must live as long as the session it lists.
    await this.#index(recordOwner(record), id, ttlMs)
    await this.#run(id, 'patch', ttlMs, { set: {}, unset: [], cookie: record.cookie })
  }

  /**
   * Apply `patch` to the record of `id` inside Redis, atomically; `false` (nothing written) when
   * the key is gone.
   * @throws an `Error` when the stored value is not a JSON object (it is left as it is).
   */
  async patch(id: string, patch: SessionPatch): Promise<boolean> {
    const ttlMs = this.#ttlMs({ cookie: patch.cookie })
    // A patch that removes the owner leaves the id in the old owner's set: cleaned when listed.
    await this.#index(patchOwner(patch) ?? undefined, id, ttlMs)
    const [status] = await this.#run(id, 'patch', ttlMs, patch)
    return status !== 0
  }

  /**
   * The ids in `owner`'s set (the session index): ids of sessions that were destroyed, expired or
   * changed owner since may be among them; typed-session checks each and calls `unindex`.
   */
  async indexedIds(owner: string): Promise<readonly string[]> {
    return this.#owners.list(owner)
  }

  /** Forget `ids` from `owner`'s set. */
  async unindex(owner: string, ids: readonly string[]): Promise<void> {
    await this.#owners.remove(owner, ids)
  }

  /** File `id` under `owner` before its record is written, so a revoke cannot miss it. */
  async #index(owner: string | undefined, id: string, ttlMs: number): Promise<void> {
    if (owner !== undefined && ttlMs > 0) await this.#owners.add(owner, id, ttlMs)
  }

  /** Take the flash messages out of the record of `id`: their JSON, or `null` when none. */
  async takeFlash(id: string): Promise<string | null> {
    const [status, flash] = await this.#run(id, 'take', 'keep', undefined)
    return status === 1 && flash !== undefined && flash !== '' ? flash : null
  }

  async #run(
    id: string,
    mode: 'patch' | 'take',
    ttlMs: number | 'keep',
    patch: SessionPatch | undefined,
  ): Promise<Reply> {
    const args = [
      mode,
      String(ttlMs),
      patch?.flash === undefined ? '' : JSON.stringify(patch.flash),
    ]
    if (patch !== undefined) {
      const set: Array<[string, unknown]> = Object.keys(patch.set)
        .filter((key) => key !== 'cookie' && !(patch.flash !== undefined && key === FLASH_KEY))
        .map((key) => [key, patch.set[key]])
      set.push(['cookie', plainCookie(patch.cookie)])
      args.push(String(set.length))
      for (const [key, value] of set) args.push(JSON.stringify(key), JSON.stringify(value))
      for (const key of patch.unset) {
        if (key !== 'cookie' && !(patch.flash !== undefined && key === FLASH_KEY))
          args.push(JSON.stringify(key))
      }
    } else {
      args.push('0')
    }
    const options = { keys: [this.prefix + id], arguments: args }
    let reply: unknown
    try {
      reply = await this.#client.evalSha(SCRIPT_SHA, options)
    } catch (err) {
      // Not loaded on this node yet (first call, a restarted server, another Cluster node): EVAL
      // runs it and caches it there, so the next EVALSHA finds it.
      if (!isNoScript(err)) throw err
      reply = await this.#client.eval(PATCH_SCRIPT, options)
    }
    const result = reply as Reply
    if (result[0] === -1) {
      throw new Error(
        `RedisStore: the value under ${JSON.stringify(this.prefix + id)} is not a JSON object; left as it is`,
      )
    }
    return result
  }

  /** Milliseconds the record lives: to its cookie's expiry, else the `ttl` option. */
  #ttlMs(record: { cookie: StoredCookie }): number {
    if (typeof this.#ttl === 'function') return Math.ceil(this.#ttl(record as SessionRecord) * 1000)
    const at = cookieExpiryMs(record.cookie)
    return at === undefined ? this.#ttl * 1000 : at - Date.now()
  }
}

Object.defineProperty(RedisStore.prototype, NATIVE_STORE, { value: true })

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT')
}
