// Which session store the example uses, chosen by the environment. Nothing else in the app changes
// with the store: typed-session takes express-session stores as they are.
import { MemoryStore, Store, type StoreOption } from 'typed-session'

/** A store, how to name it in the startup line, and how to close its connections. */
export interface ChosenStore {
  readonly store: StoreOption
  readonly label: string
  readonly close: () => Promise<unknown>
}

/** The example's table. Its own name, and constraint names of its own (see createPgTable). */
const PG_TABLE = 'typed_session_example'

/** The store named by the environment: REDIS_URL, else DATABASE_URL, else memory. */
export async function storeFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<ChosenStore> {
  if (env.REDIS_URL) return redisStore(env.REDIS_URL)
  if (env.DATABASE_URL) return pgStore(env.DATABASE_URL)
  return {
    store: new MemoryStore(),
    label: 'memory (sessions end with the process)',
    close: async () => {},
  }
}

async function redisStore(url: string): Promise<ChosenStore> {
  const [{ createClient }, { RedisStore }] = await Promise.all([
    import('redis'),
    import('connect-redis'),
  ])
  let connected = false
  // Give up after a few tries at startup (a wrong URL should not hang); reconnect forever later.
  const reconnectStrategy = (tries: number, cause: Error): number | Error =>
    connected || tries < 3 ? Math.min(tries * 200, 2000) : cause
  const client = createClient({ url, socket: { reconnectStrategy } })
  client.on('error', (err: Error) => console.error('Redis:', err.message))
  await client.connect()
  connected = true
  const store = new RedisStore({ client, prefix: 'typed-session-example:' })
  return { store, label: `Redis at ${redact(url)}`, close: () => client.close() }
}

async function pgStore(url: string): Promise<ChosenStore> {
  const [{ default: connectPgSimple }, { default: pg }] = await Promise.all([
    import('connect-pg-simple'),
    import('pg'),
  ])
  const pool = new pg.Pool({ connectionString: url })
  pool.on('error', (err) => console.error('PostgreSQL:', err.message))
  // Also the startup check: a wrong DATABASE_URL stops the app instead of failing every request.
  await createPgTable(pool)
  // connect-pg-simple extends `sessionModule.Store`; typed-session exports a compatible one. Its
  // types name express-session's module, hence the cast.
  const PgStore = connectPgSimple({ Store } as never)
  const store = new PgStore({ pool, tableName: PG_TABLE })
  return { store, label: `PostgreSQL at ${redact(url)}`, close: () => pool.end() }
}

/**
 * Create the example's table unless it exists. Not `createTableIfMissing`: connect-pg-simple names
 * the primary key `session_pkey` and the index `IDX_session_expire` whatever the table is called,
 * and index names are unique per schema, so its table would collide with any other app's
 * connect-pg-simple table in the same database (`relation "session_pkey" already exists`).
 */
async function createPgTable(pool: import('pg').Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS ${PG_TABLE} (
    sid varchar NOT NULL CONSTRAINT ${PG_TABLE}_pkey PRIMARY KEY,
    sess json NOT NULL,
    expire timestamp(6) NOT NULL
  )`)
  await pool.query(`CREATE INDEX IF NOT EXISTS ${PG_TABLE}_expire_idx ON ${PG_TABLE} (expire)`)
}

/** A URL without its password, for printing. */
function redact(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.href
  } catch {
    return '(unparsable URL)'
  }
}
