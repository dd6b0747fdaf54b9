// Which session store the example uses, chosen by the environment. Nothing else in the app changes
// with the store: typed-session takes express-session stores as they are.
import { MemoryStore, Store } from 'typed-session'

/**
 * The store named by the environment: REDIS_URL, else DATABASE_URL, else memory.
 * @returns {Promise<{ store: import('typed-session').StoreOption, label: string,
 *   close: () => Promise<unknown> }>}
 */
export async function storeFromEnv(env = process.env) {
  if (env.REDIS_URL) {
    const [{ createClient }, { RedisStore }] = await Promise.all([
      import('redis'),
      import('connect-redis'),
    ])
    let connected = false
    // Give up after a few tries at startup (a wrong URL should not hang); reconnect forever later.
    const reconnectStrategy = (/** @type {number} */ tries, /** @type {Error} */ cause) =>
      connected || tries < 3 ? Math.min(tries * 200, 2000) : cause
    const client = createClient({ url: env.REDIS_URL, socket: { reconnectStrategy } })
    client.on('error', (err) => console.error('Redis:', err.message))
    await client.connect()
    connected = true
    const store = new RedisStore({ client, prefix: 'typed-session-example:' })
    return { store, label: `Redis at ${redact(env.REDIS_URL)}`, close: () => client.close() }
  }
  if (env.DATABASE_URL) {
    const { default: connectPgSimple } = await import('connect-pg-simple')
    // connect-pg-simple extends `sessionModule.Store`; typed-session exports a compatible one.
    const PgStore = connectPgSimple({ Store })
    const store = new PgStore({
      conString: env.DATABASE_URL,
      tableName: 'typed_session_example',
      createTableIfMissing: true,
    })
    // One read at startup, so a wrong DATABASE_URL stops the app instead of failing every request.
    await new Promise((ok, fail) => store.get('startup-check', (err) => (err ? fail(err) : ok())))
    return { store, label: `PostgreSQL at ${redact(env.DATABASE_URL)}`, close: () => store.close() }
  }
  return {
    store: new MemoryStore(),
    label: 'memory (sessions end with the process)',
    close: async () => {},
  }
}

/** A URL without its password, for printing. */
function redact(url) {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.href
  } catch {
    return '(unparsable URL)'
  }
}
