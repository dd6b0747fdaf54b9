/**
 * `typed-session/redis`: the native Redis store. A subpath of its own so the main entry pulls in
 * nothing: only apps that import this need `redis` (an optional peer dependency).
 * @packageDocumentation
 */
export type { RedisClientLike, RedisStoreOptions } from './stores/redis.js'
export { RedisStore } from './stores/redis.js'
