import { createHash } from 'node:crypto'
import { SessionError } from '../errors.js'
import { patchOwner, recordOwner } from '../owner/meta.js'
import { cookieExpiryMs, plainCookie } from './stored-cookie.js'
import type { SessionPatch, SessionRecord, SessionStore, StoredCookie } from './types.js'

/** What {@link PgStore} needs of a `pg` 8 `Pool` (typed loosely so any `pg` 8 pool fits). */
export interface PgPoolLike {
  query(...args: never[]): Promise<unknown>
  on?(...args: never[]): unknown
  listenerCount?(...args: never[]): number
}

/** Options of {@link PgStore}: connect-pg-simple 10's names and defaults. */
export interface PgStoreOptions {
  /** A `pg` 8 `Pool`. The store never ends it: the app owns it. */
  pool: PgPoolLike
  /**
   * The table; connect-pg-simple's layout (`sid` primary key, `sess` json, `expire` timestamp,
   * an index on `expire`).
   * @default 'session'
   */
  tableName?: string | undefined
  /** The schema of the table; the connection's `search_path` when not given. */
  schemaName?: string | undefined
  /**
   * Create the table (and its index) on first use when it is missing.
   * @default true
   */
  createTableIfMissing?: boolean | undefined
  /**
   * Seconds a record lives when its cookie has no expiry (a browser-session cookie).
   * @default 86400 (one day)
   */
  ttl?: number | undefined
  /**
   * Milliseconds between deletes of expired rows, on an `unref()`'d timer (it never keeps the
   * process alive). `false` turns pruning off (expired rows are still never returned).
   * @default 900000 (15 minutes, connect-pg-simple's default)
   */
  pruneIntervalMs?: number | false | undefined
  /**
   * Told about failures nobody waits for: a failed prune, an error of an idle pool connection
   * (the store listens for those only when the pool has no `error` listener, so one terminated
   * backend cannot crash the process).
   * @default console.warn
   */
  onError?: ((error: unknown) => void) | undefined
}

const DEFAULT_TABLE = 'session'
const DEFAULT_TTL_SECONDS = 86_400
const DEFAULT_PRUNE_INTERVAL_MS = 15 * 60_000
const FLASH_KEY = 'flash'
// The adapter's native-store brand (`nativeStore` in adapt.ts): call these methods as written.
const NATIVE_STORE = Symbol.for('typed-session.native-store')
// PostgreSQL error codes of a lost CREATE ... IF NOT EXISTS race with a creator that does not take
// the DDL lock (connect-pg-simple's createTableIfMissing, an older typed-session): the loser fails
// with 23505 (unique catalog key), 42P07 (relation exists) or 42710 (its row type exists), by how
// far it got when the winner committed. Each means the object exists now.
const CREATE_RACE_CODES = new Set(['23505', '42P07', '42710'])
// Adding the owner column (issue 12) may also lose a race (42701: it exists now) or be refused on a
// table the app's role does not own (42501): the store then works without an index.
const OWNER_COLUMN_SKIP_CODES = new Set(['23505', '42P07', '42701', '42501'])

interface QueryResult {
  rows: Array<Record<string, unknown>>
  rowCount: number | null
}
type Query = (text: string, values?: unknown[]) => Promise<QueryResult>

/**
 * A native PostgreSQL store for `pg` 8, on connect-pg-simple 10's table, so an app switches from
 * connect-pg-simple to it and back with nobody logged out.
 *
 * What it adds over connect-pg-simple, across any number of processes:
 * - `patch` is one `UPDATE` that merges the changed keys into the stored `jsonb`, only on a live
 *   row (`expire >= now()`): concurrent writes to different keys all land, and a logout or
 *   regenerate in one process is final for every other (an expired, unpruned row never comes back).
 * - `create` inserts a new session only if its id is free (`ON CONFLICT`).
 * - `touch` moves the expiry (and the stored `cookie`) only of a live row.
 * - `takeFlash` and `patch`'s flash append make a flash message shown once and never lost.
 *
 * `get` returns the stored JSON as text: typed-session checks its size before parsing it.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { PgStore } from 'typed-session/pg'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * app.use(session({ schema, secret, store: new PgStore({ pool, tableName: 'session' }) }))
 * ```
 */
export class PgStore implements SessionStore {
  readonly #query: Query
  readonly #table: string
  readonly #indexName: string
  /** The partial index on `owner` (issue 12), named after the table like the expiry index. */
  readonly #ownerIndexName: string
  /** The advisory lock key the table's first-use DDL is serialized on (see `#ddl`). */
  readonly #ddlLockKey: bigint
  /** Whether the table has the nullable `owner` column of the session index; found out once. */
  #ownerColumn: Promise<boolean> | undefined
  readonly #ttlSeconds: number
  readonly #onError: (error: unknown) => void
  readonly #createTable: boolean
  #tableReady: Promise<void> | undefined
  #pruner: NodeJS.Timeout | undefined

  /**
   * @throws {SessionError} `ERR_SESSION_OPTIONS` when `pool` has no `query`, or `ttl` /
   * `pruneIntervalMs` is not a positive number.
   */
  constructor(options: PgStoreOptions) {
    const pool = options?.pool as unknown as Record<string, unknown> | undefined
    if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function') {
      throw new SessionError('ERR_SESSION_OPTIONS', 'PgStore: `pool` must be a pg 8 Pool')
    }
    const ttl = options.ttl ?? DEFAULT_TTL_SECONDS
    if (!(typeof ttl === 'number' && ttl > 0 && Number.isFinite(ttl))) {
      throw new SessionError(
        'ERR_SESSION_OPTIONS',
        'PgStore: `ttl` must be a positive number of seconds',
      )
    }
    const prune = options.pruneIntervalMs ?? DEFAULT_PRUNE_INTERVAL_MS
    if (prune !== false && !(typeof prune === 'number' && prune > 0 && prune <= 2_147_483_647)) {
      throw new SessionError(
        'ERR_SESSION_OPTIONS',
        'PgStore: `pruneIntervalMs` must be a number of milliseconds (up to 2147483647) or false',
      )
    }
    this.#query = (text, values) =>
      (pool.query as (text: string, values?: unknown[]) => Promise<QueryResult>).call(
        pool,
        text,
        values,
      )
    const tableName = options.tableName ?? DEFAULT_TABLE
    const table = quoteIdentifier(tableName)
    // connect-pg-simple's index name for its default table, `IDX_session_expire`.
    this.#indexName = quoteIdentifier(`IDX_${tableName}_expire`)
    this.#ownerIndexName = quoteIdentifier(`IDX_${tableName}_owner`)
    this.#table =
      options.schemaName === undefined ? table : `${quoteIdentifier(options.schemaName)}.${table}`
    this.#ddlLockKey = ddlLockKey(this.#table)
    this.#ttlSeconds = ttl
    this.#createTable = options.createTableIfMissing !== false
    this.#onError =
      options.onError ?? ((error: unknown) => console.warn('typed-session PgStore:', String(error)))
    // An idle pooled connection that dies (a terminated backend, a restart) makes the pool emit
    // `error`; with no listener that is an uncaught exception. Listen only when the app does not.
    const on = pool.on
    const listenerCount = pool.listenerCount
    if (
      typeof on === 'function' &&
      typeof listenerCount === 'function' &&
      listenerCount.call(pool, 'error') === 0
    ) {
      on.call(pool, 'error', (error: unknown) => this.#onError(error))
    }
    if (prune !== false) {
      this.#pruner = setInterval(() => {
        this.prune().catch((error: unknown) => this.#onError(error))
      }, prune)
      this.#pruner.unref()
    }
  }

  /** The stored JSON of `id` as text, or `null` when there is none or it has expired. */
  async get(id: string): Promise<string | null> {
    const { rows } = await this.#run(
      `SELECT sess::text AS sess FROM ${this.#table} WHERE sid = $1 AND expire >= now()`,
      [id],
    )
    const sess = rows[0]?.sess
    return typeof sess === 'string' ? sess : null
  }

  /** Create or replace the record of `id`, expiring at its cookie's expiry. */
  async set(id: string, record: SessionRecord): Promise<void> {
    const values: unknown[] = [id, JSON.stringify(record), this.#expireSeconds(record.cookie)]
    const owner = await this.#ownerValue(recordOwner(record) ?? null, values)
    await this.#run(
      `INSERT INTO ${this.#table} (sid, sess, expire${owner.column}) VALUES ($1, $2::json, to_timestamp($3)${owner.value})
       ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire${owner.update}`,
      values,
    )
  }

  /**
   * Insert `record` under `id` only if no live row has that id; `false` when one has. An expired
   * row that was not pruned yet counts as absent and is replaced (the id is free).
   */
  async create(id: string, record: SessionRecord): Promise<boolean> {
    const expire = this.#expireSeconds(record.cookie)
    if (expire * 1000 <= Date.now()) return false
    const values: unknown[] = [id, JSON.stringify(record), expire]
    const owner = await this.#ownerValue(recordOwner(record) ?? null, values)
    const { rowCount } = await this.#run(
      `INSERT INTO ${this.#table} AS t (sid, sess, expire${owner.column}) VALUES ($1, $2::json, to_timestamp($3)${owner.value})
       ON CONFLICT (sid) DO UPDATE SET sess = EXCLUDED.sess, expire = EXCLUDED.expire${owner.update}
       WHERE t.expire < now()`,
      values,
    )
    return rowCount === 1
  }

  /** Delete the row of `id` (a missing one is fine). */
  async destroy(id: string): Promise<void> {
    await this.#run(`DELETE FROM ${this.#table} WHERE sid = $1`, [id])
  }

  /** Move the expiry (and the stored `cookie`) of a live row; never creates one. */
  async touch(id: string, record: SessionRecord): Promise<void> {
    await this.#run(
      `UPDATE ${this.#table} SET sess = jsonb_set(sess::jsonb, '{cookie}', $2::jsonb)::json,
       expire = to_timestamp($3) WHERE sid = $1 AND expire >= now()`,
      [id, JSON.stringify(plainCookie(record.cookie)), this.#expireSeconds(record.cookie)],
    )
  }

  /**
   * Merge `patch` into the live row of `id` in one `UPDATE`; `false` (nothing written) when there
   * is no live row.
   */
  async patch(id: string, patch: SessionPatch): Promise<boolean> {
    const flash = patch.flash
    const set: Record<string, unknown> = {}
    for (const key of Object.keys(patch.set)) {
      if (key !== 'cookie' && !(flash !== undefined && key === FLASH_KEY))
        Object.defineProperty(set, key, { value: patch.set[key], enumerable: true })
    }
    Object.defineProperty(set, 'cookie', { value: plainCookie(patch.cookie), enumerable: true })
    const unset = patch.unset.filter((key) => !(flash !== undefined && key === FLASH_KEY))
    // `jsonb` keeps numbers exactly (numeric) and `[]` as `[]`; `-` drops keys, `||` sets them.
    const merged = '(sess::jsonb - $2::text[]) || $3::jsonb'
    const values: unknown[] = [id, unset, JSON.stringify(set), this.#expireSeconds(patch.cookie)]
    let sess = merged
    if (flash !== undefined) {
      values.push(JSON.stringify(flash))
      sess = `${merged} || jsonb_build_object('flash', ${appendFlashSql('sess::jsonb', '$5::jsonb')})`
    }
    // The owner column moves in the same statement as the record: the index is never behind it.
    const newOwner = patchOwner(patch)
    const owner = newOwner === undefined ? undefined : await this.#ownerValue(newOwner, values)
    const { rowCount } = await this.#run(
      `UPDATE ${this.#table} SET sess = (${sess})::json, expire = to_timestamp($4)${owner?.set ?? ''}
       WHERE sid = $1 AND expire >= now()`,
      values,
    )
    return rowCount === 1
  }

  /**
   * The ids of the owner's live rows (the session index: the nullable `owner` column, written in
   * the same statement as the record, with a partial index).
   * @throws {SessionError} `ERR_SESSION_NO_INDEX` when the table has no `owner` column (a table
   * made by connect-pg-simple, with `createTableIfMissing: false` or a role that cannot alter it).
   */
  async indexedIds(owner: string): Promise<readonly string[]> {
    if (!(await this.#hasOwnerColumn())) {
      throw new SessionError(
        'ERR_SESSION_NO_INDEX',
        `PgStore: the table has no "owner" column; add it with ALTER TABLE ${this.#table} ADD COLUMN "owner" text; CREATE INDEX ${this.#ownerIndexName} ON ${this.#table} ("owner") WHERE "owner" IS NOT NULL`,
      )
    }
    const { rows } = await this.#run(
      `SELECT sid FROM ${this.#table} WHERE "owner" = $1 AND expire >= now()`,
      [owner],
    )
    return rows.map((row) => String(row.sid))
  }

  /** SQL pieces that write `owner` into the owner column (nothing when the table has none). */
  async #ownerValue(
    owner: string | null,
    values: unknown[],
  ): Promise<{ column: string; value: string; update: string; set: string }> {
    if (!(await this.#hasOwnerColumn())) return { column: '', value: '', update: '', set: '' }
    values.push(owner)
    const n = `$${values.length}`
    return {
      column: ', "owner"',
      value: `, ${n}`,
      update: ', "owner" = EXCLUDED."owner"',
      set: `, "owner" = ${n}`,
    }
  }

  #hasOwnerColumn(): Promise<boolean> {
    this.#ownerColumn ??= this.#findOwnerColumn().catch((error: unknown) => {
      this.#ownerColumn = undefined // ask again on the next call
      throw error
    })
    return this.#ownerColumn
  }

  async #findOwnerColumn(): Promise<boolean> {
    const { rows } = await this.#run(
      `SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'owner' AND NOT attisdropped`,
      [this.#table],
    )
    return rows.length > 0
  }

  /** Take the flash messages out of the live row of `id`: their JSON, or `null` when none. */
  async takeFlash(id: string): Promise<string | null> {
    // The row lock makes concurrent takes queue: the second sees the row without the slot.
    const { rows } = await this.#run(
      `WITH old AS (
         SELECT sid, sess::jsonb -> 'flash' AS flash FROM ${this.#table}
         WHERE sid = $1 AND expire >= now() AND (sess::jsonb ? 'flash') FOR UPDATE
       )
       UPDATE ${this.#table} AS t SET sess = (t.sess::jsonb - 'flash')::json
       FROM old WHERE t.sid = old.sid RETURNING old.flash::text AS flash`,
      [id],
    )
    const flash = rows[0]?.flash
    return typeof flash === 'string' && flash !== 'null' ? flash : null
  }

  /** Delete every expired row now (the prune timer calls this every `pruneIntervalMs`). */
  async prune(): Promise<void> {
    await this.#run(`DELETE FROM ${this.#table} WHERE expire < now()`, [])
  }

  /** Stop the prune timer. The pool is the app's: end it yourself. */
  close(): void {
    clearInterval(this.#pruner)
    this.#pruner = undefined
  }

  /** Same as {@link PgStore.close}, for `using store = new PgStore(...)`. */
  [Symbol.dispose](): void {
    this.close()
  }

  async #run(text: string, values: unknown[]): Promise<QueryResult> {
    if (this.#createTable) {
      this.#tableReady ??= this.#ensureTable().catch((error: unknown) => {
        this.#tableReady = undefined // try again on the next call
        throw error
      })
      await this.#tableReady
    }
    return this.#query(text, values)
  }

  async #ensureTable(): Promise<void> {
    const indexName = this.#indexName
    const statements = [
      `CREATE TABLE IF NOT EXISTS ${this.#table} (
         "sid" varchar NOT NULL COLLATE "default" PRIMARY KEY,
         "sess" json NOT NULL,
         "expire" timestamp(6) NOT NULL
       )`,
      `CREATE INDEX IF NOT EXISTS ${indexName} ON ${this.#table} ("expire")`,
    ]
    for (const statement of statements) {
      try {
        await this.#ddl(statement)
      } catch (error) {
        // A creator that does not take the lock created it meanwhile: it exists, go on.
        const code = (error as { code?: unknown } | null)?.code
        if (!(typeof code === 'string' && CREATE_RACE_CODES.has(code))) throw error
      }
    }
    // The session index (issue 12): a nullable column connect-pg-simple never reads or writes,
    // so the table stays readable (and writable) by it; the partial index skips anonymous rows.
    const ownerStatements = [
      `ALTER TABLE ${this.#table} ADD COLUMN IF NOT EXISTS "owner" text`,
      `CREATE INDEX IF NOT EXISTS ${this.#ownerIndexName} ON ${this.#table} ("owner") WHERE "owner" IS NOT NULL`,
    ]
    for (const statement of ownerStatements) {
      try {
        await this.#ddl(statement)
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code
        if (!(typeof code === 'string' && OWNER_COLUMN_SKIP_CODES.has(code))) throw error
      }
    }
  }

  /**
   * Run one first-use DDL statement while holding the table's advisory lock, in one implicit
   * transaction (a simple query of two statements, so the lock lasts exactly as long).
   *
   * `CREATE TABLE` / `CREATE INDEX` / `ALTER TABLE ... IF NOT EXISTS` are not safe to run at once
   * in PostgreSQL: when several processes meet a missing table (a deploy, a cluster start), a loser
   * errors with whatever its statement reached when the winner committed. One of those, 42710 (type
   * "<table>" already exists), was not taken for a lost race, and on a loaded machine the first
   * logins of a process answered 503. With the lock the stores take turns, and the later one finds
   * everything in place.
   */
  async #ddl(statement: string): Promise<void> {
    await this.#query(`SELECT pg_advisory_xact_lock(${this.#ddlLockKey}); ${statement}`)
  }

  /** When the record expires, in seconds since the epoch (connect-pg-simple's rule). */
  #expireSeconds(cookie: StoredCookie): number {
    return (cookieExpiryMs(cookie) ?? Date.now() + this.#ttlSeconds * 1000) / 1000
  }
}

Object.defineProperty(PgStore.prototype, NATIVE_STORE, { value: true })

/**
 * SQL for the flash slot of `record` with the lists of `added` appended kind by kind. A stored slot
 * that is not an object, or a kind that is not a list, is replaced by the appended messages.
 */
function appendFlashSql(record: string, added: string): string {
  const stored = `(CASE WHEN jsonb_typeof(${record} -> 'flash') = 'object' THEN ${record} -> 'flash' ELSE '{}'::jsonb END)`
  return `(${stored} || coalesce((
    SELECT jsonb_object_agg(a.key,
      (CASE WHEN jsonb_typeof(${stored} -> a.key) = 'array' THEN ${stored} -> a.key ELSE '[]'::jsonb END) || a.value)
    FROM jsonb_each(${added}) AS a WHERE jsonb_typeof(a.value) = 'array'), '{}'::jsonb))`
}

/**
 * The advisory lock key of `table` (its quoted, maybe schema-qualified name): 62 bits of a SHA-256,
 * a positive `bigint` literal. Two tables that share a key only take turns at their DDL.
 */
function ddlLockKey(table: string): bigint {
  return (
    createHash('sha256')
      .update(`typed-session PgStore DDL\u0000${table}`)
      .digest()
      .readBigUInt64BE(0) >> 2n
  )
}

/** A PostgreSQL identifier in double quotes, with embedded quotes doubled (no SQL injection). */
function quoteIdentifier(name: string): string {
  if (typeof name !== 'string' || name === '' || name.includes('\u0000')) {
    throw new SessionError(
      'ERR_SESSION_OPTIONS',
      'PgStore: table and schema names must be non-empty strings',
    )
  }
  return `"${name.replaceAll('"', '""')}"`
}
