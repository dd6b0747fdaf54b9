// The Redis client an app server process of the multi-process tests connects with: REDIS_URL, or
// REDIS_CLUSTER_URLS (comma-separated) for a Redis Cluster. It reconnects quickly and never throws
// from an `error` event, so a test that stops a server sees failed requests, not a dead process.
import { createClient, createCluster } from 'redis'

export async function redisClientFromEnv(env = process.env) {
  const socket = { connectTimeout: 5000, reconnectStrategy: (n) => Math.min(50 * (n + 1), 500) }
  const client =
    env.REDIS_CLUSTER_URLS !== undefined
      ? createCluster({
          rootNodes: env.REDIS_CLUSTER_URLS.split(',').map((url) => ({ url })),
          defaults: { socket },
        })
      : createClient({ url: env.REDIS_URL, socket })
  client.on('error', () => {})
  await client.connect()
  return client
}
