// Which session store the example uses, chosen by the environment. Nothing else in the app changes
// with the store. With REDIS_URL or DATABASE_URL it uses typed-session's own stores, whose
// guarantees (nothing lost, logout final, a flash shown once) hold across processes: run several
// copies of the app behind a load balancer and they still do.
import { MemoryStore, type StoreOption } from 'typed-session'

/** A store, how to name it in the startup line, and how to close its connections. */
export interface ChosenStore {
  readonly store: StoreOption
  readonly label: string
  readonly close: () => Promise<unknown>
}

/** The example's table (PgStore creates it on first use, with constraint names of its own). */
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
  // Subpath imports: the app loads `redis` only when it uses Redis.
  const [{ createClient }, { RedisStore }] = await Promise.all([
    import('redis'),
    import('typed-session/redis'),
  ])
  let connected = false
  // Give up after a few tries at startup (a wrong URL should not hang); reconnect forever later.
  const reconnectStrategy = (tries: number, cause: Error): number | Error =>
    connected || tries < 3 ? Math.min(tries * 200, 2000) : cause
  // disableOfflineQueue: a command that already timed out must not run later, when Redis is back.
  const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy } })
  client.on('error', (err: Error) => console.error('Redis:', err.message))
  await client.connect()
  connected = true
  const store = new RedisStore({ client, prefix: 'typed-session-example:' })
  return { store, label: `Redis at ${redact(url)}`, close: () => client.close() }
}

async function pgStore(url: string): Promise<ChosenStore> {
  const [{ default: pg }, { PgStore }] = await Promise.all([
    import('pg'),
    import('typed-session/pg'),
  ])
  const pool = new pg.Pool({ connectionString: url })
  pool.on('error', (err) => console.error('PostgreSQL:', err.message))
  const store = new PgStore({ pool, tableName: PG_TABLE })
  // Also the startup check: a wrong DATABASE_URL stops the app instead of failing every request.
  // (prune creates the table when it is missing, then deletes expired rows.)
  await store.prune()
  return {
    store,
    label: `PostgreSQL at ${redact(url)}`,
    close: async () => {
      store.close()
      await pool.end()
    },
  }
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
