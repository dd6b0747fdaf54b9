// listSessions / revokeSessions / revokeSession: the middleware's view of the store's per-owner
// index. The index only says where to look; every answer comes from the records themselves, so a
// stale index entry can neither show a session nor end someone else's.
import type { SessionConfig } from '../core/config.js'
import { hashId } from '../core/events.js'
import { isSessionError, SessionError } from '../errors.js'
import type { SessionRecord } from '../stores/types.js'
import { currentEpoch, epochMatches, isOwnerId, type OwnerSlot, ownerSlotOf } from './meta.js'
import type {
  ListSessionsOptions,
  OwnedSession,
  RevokeSessionsOptions,
  SessionIndexApi,
} from './types.js'

/** Records read at once while listing: enough to hide the latency, few enough not to flood a store. */
const READ_BATCH = 32

/** A record of the owner's, as read while listing. */
interface Listed {
  readonly id: string
  readonly slot: OwnerSlot
  readonly record: SessionRecord
}

/**
 * The index methods of one `session()` middleware. Without `owner` in the options they reject
 * with `ERR_SESSION_MISUSE`; on a store without an index, with `ERR_SESSION_NO_INDEX`.
 */
export function indexApi(config: SessionConfig): SessionIndexApi<string> {
  return {
    async listSessions(owner: string, options: ListSessionsOptions = {}): Promise<OwnedSession[]> {
      const listed = await liveSessions(config, owner)
      return listed
        .map((entry) => describe(entry, options.current))
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    },
    async revokeSessions(owner: string, options: RevokeSessionsOptions = {}): Promise<number> {
      const listed = await liveSessions(config, owner)
      let ended = 0
      for (const entry of listed) {
        if (entry.id === options.except) continue
        await endSession(config, entry.id, 'revoked')
        ended++
      }
      return ended
    },
    async revokeSession(owner: string, handle: string): Promise<boolean> {
      const listed = await liveSessions(config, owner)
      const entry = listed.find((candidate) => candidate.slot.handle === handle)
      if (entry === undefined) return false
      await endSession(config, entry.id, 'revoked')
      return true
    },
  }
}

/**
 * End session `id` for good: in-flight requests of this process may not write it again, a write
 * of theirs already on its way lands before the delete, and a store with `patch` refuses the
 * writes of other processes once the record is gone.
 */
export async function endSession(
  config: SessionConfig,
  id: string,
  reason: 'revoked' | 'epoch',
): Promise<void> {
  const entry = config.registry.peek(id)
  if (entry !== undefined) {
    entry.destroyed = true
    if (entry.pendingWrites > 0) await entry.queue.then(noop, noop)
  }
  await config.store.destroy(id)
  emit(config, id, reason)
}

/** The owner's sessions that are live now: indexed, present, still theirs, within their epoch. */
async function liveSessions(config: SessionConfig, owner: string): Promise<Listed[]> {
  const { store } = config
  if (config.owner === undefined) {
    throw new SessionError(
      'ERR_SESSION_MISUSE',
      'typed-session: listSessions / revokeSessions need the `owner` option of session()',
    )
  }
  if (store.indexedIds === undefined) {
    throw new SessionError(
      'ERR_SESSION_NO_INDEX',
      'typed-session: this store keeps no per-owner session index (an express-session store): use MemoryStore, typed-session/redis or typed-session/pg, or end sessions with the `ownerEpoch` option',
    )
  }
  if (!isOwnerId(owner)) {
    throw new SessionError(
      'ERR_SESSION_MISUSE',
      'typed-session: an owner is a string of 1 to 256 characters',
    )
  }
  const ids = [...new Set(await store.indexedIds(owner).catch(unwrapNoIndex))]
  const epoch =
    config.ownerEpoch === undefined ? undefined : await currentEpoch(config.ownerEpoch, owner)
  const live: Listed[] = []
  const stale: string[] = []
  const outOfEpoch: string[] = []
  const now = Date.now()
  for (let start = 0; start < ids.length; start += READ_BATCH) {
    const batch = ids.slice(start, start + READ_BATCH)
    const raws = await Promise.all(batch.map((id) => store.get(id)))
    batch.forEach((id, i) => {
      const record = parseRecord(raws[i], config.maxSessionBytes)
      const slot = record === undefined ? undefined : ownerSlotOf(record)
      if (
        record === undefined ||
        slot === undefined ||
        slot.owner !== owner ||
        isExpired(record, now)
      ) {
        stale.push(id)
      } else if (config.ownerEpoch !== undefined && !epochMatches(slot, epoch)) {
        outOfEpoch.push(id)
      } else {
        live.push({ id, slot, record })
      }
    })
  }
  // Sessions signed in under an old epoch are already dead (their next request would end them):
  // end them now, so the store does not keep them until they expire.
  for (const id of outOfEpoch) await endSession(config, id, 'epoch')
  if (store.unindex !== undefined && stale.length + outOfEpoch.length > 0)
    await store.unindex(owner, [...stale, ...outOfEpoch])
  return live
}

function describe(entry: Listed, current: string | undefined): OwnedSession {
  const { slot, record } = entry
  const expires = record.cookie.expires === null ? null : new Date(record.cookie.expires)
  const expiresAt = expires === null || Number.isNaN(expires.getTime()) ? null : expires
  // A touch moves the expiry without a write: the expiry minus the lifetime is when it happened.
  const maxAge = record.cookie.originalMaxAge
  const touchedAt =
    expiresAt !== null && typeof maxAge === 'number' ? expiresAt.getTime() - maxAge : 0
  return {
    handle: slot.handle,
    createdAt: new Date(slot.createdAt),
    lastActiveAt: new Date(Math.max(slot.activeAt, touchedAt)),
    expiresAt,
    label: slot.label,
    current: current !== undefined && entry.id === current,
  }
}

/** What the store returned, as a record with a cookie; `undefined` for junk or an oversized one. */
function parseRecord(raw: unknown, maxBytes: number): SessionRecord | undefined {
  let value = raw
  if (typeof raw === 'string') {
    // Refused before parsing, as on load: a planted huge record must not cost a huge parse.
    if (raw.length > maxBytes) return undefined
    try {
      value = JSON.parse(raw)
    } catch {
      return undefined
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const cookie = (value as { cookie?: unknown }).cookie
  if (typeof cookie !== 'object' || cookie === null) return undefined
  return value as SessionRecord
}

function isExpired(record: SessionRecord, now: number): boolean {
  const { expires } = record.cookie
  if (expires === null || expires === undefined) return false
  const ms = new Date(expires).getTime()
  return !Number.isNaN(ms) && ms <= now
}

function emit(config: SessionConfig, id: string, reason: 'revoked' | 'epoch'): void {
  const { onEvent } = config
  if (onEvent === undefined) return
  try {
    onEvent({ type: 'revoked', idHash: hashId(id), reason })
  } catch {
    // A throwing logger must not stop a revocation half way.
  }
}

/**
 * A store that can keep an index but cannot use it here (PgStore on a table without the `owner`
 * column) says so with `ERR_SESSION_NO_INDEX`; the adapter wraps every store rejection as
 * `ERR_SESSION_STORE`, so take that answer back out of the `cause`.
 */
function unwrapNoIndex(err: unknown): never {
  const cause = isSessionError(err) ? err.cause : undefined
  throw isSessionError(cause) && cause.code === 'ERR_SESSION_NO_INDEX' ? cause : err
}

function noop(): void {}
