// The per-owner index of the native Redis store (issue 12): one set per owner holding the ids of
// the owner's sessions. Every command touches the one owner key, so it runs on Redis Cluster even
// though the set and the session keys live in different slots. The set is written before the
// session key, so a revoke never misses a session; ids left behind by a destroy or an expiry are
// removed when the owner is listed (typed-session checks each record and calls `remove`).
import { createHash } from 'node:crypto'

/**
 * One script for the owner set, so adding an id and moving the set's expiry is one step: the
 * set lives as long as the longest-lived session in it (PEXPIRE ... GT alone would never give a
 * fresh set an expiry, and a set without one would outlive all its sessions).
 */
export const OWNER_INDEX_SCRIPT = `
local mode = ARGV[1]
if mode == 'add' then
  redis.call('SADD', KEYS[1], ARGV[3])
  local ttl = tonumber(ARGV[2])
  local current = redis.call('PTTL', KEYS[1])
  if current == -1 or current < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  return 1
elseif mode == 'list' then
  return redis.call('SMEMBERS', KEYS[1])
elseif mode == 'remove' then
  for i = 2, #ARGV do redis.call('SREM', KEYS[1], ARGV[i]) end
  return 1
end
return 0
`
const SCRIPT_SHA = createHash('sha1').update(OWNER_INDEX_SCRIPT).digest('hex')

/**
 * Default key prefix of the owner sets. Not the session prefix: tools that scan `prefix*` for
 * sessions (connect-redis' `all`, `length`, `clear`) must not meet a set.
 */
export const OWNER_KEY_PREFIX = 'owner-index:'

/** The script calls of a node-redis 5 client (`createClient` or `createCluster`). */
export interface ScriptClient {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
}

/** The owner sets of one `RedisStore`. */
export class RedisOwnerIndex {
  readonly #client: ScriptClient
  readonly #prefix: string

  /** `prefix` is the store's session prefix; the owner key is `owner-index:` + prefix + owner. */
  constructor(client: ScriptClient, prefix: string) {
    this.#client = client
    this.#prefix = OWNER_KEY_PREFIX + prefix
  }

  /** File `id` under `owner`, keeping the set alive for at least `ttlMs`. */
  async add(owner: string, id: string, ttlMs: number): Promise<void> {
    await this.#run(owner, ['add', String(Math.max(1, Math.ceil(ttlMs))), id])
  }

  /** The ids filed under `owner` (some may be stale). */
  async list(owner: string): Promise<string[]> {
    const reply = await this.#run(owner, ['list'])
    return Array.isArray(reply) ? reply.filter((id): id is string => typeof id === 'string') : []
  }

  /** Forget `ids` from `owner`'s set. */
  async remove(owner: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#run(owner, ['remove', ...ids])
  }

  async #run(owner: string, args: string[]): Promise<unknown> {
    const options = { keys: [this.#prefix + owner], arguments: args }
    try {
      return await this.#client.evalSha(SCRIPT_SHA, options)
    } catch (err) {
      // Not loaded on this node yet (first call, a restarted server, another Cluster node).
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err
      return this.#client.eval(OWNER_INDEX_SCRIPT, options)
    }
  }
}
