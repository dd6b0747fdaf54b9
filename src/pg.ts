/**
 * `typed-session/pg`: the native PostgreSQL store. A subpath of its own so the main entry pulls in
 * nothing: only apps that import this need `pg` (an optional peer dependency).
 * @packageDocumentation
 */
export type { PgPoolLike, PgStoreOptions } from './stores/pg.js'
export { PgStore } from './stores/pg.js'
