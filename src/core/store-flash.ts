import type { SessionPatch, SessionStore } from '../stores/types.js'
import { type FlashQueue, FlashState } from './flash.js'
import type { RequestState } from './request-state.js'

// Flash messages as store operations (issue 10), for stores that have `takeFlash` and `patch`
// (RedisStore, PgStore, MemoryStore). On load the stored queue is taken out of the record in one
// atomic step, so of several processes loading the session at once exactly one gets it; what the
// handler does not read is appended back at the commit, with the messages it queued, through
// `patch`'s `flash`. Across processes a message is then shown once and never lost. Stores without
// the operations keep the in-record queue and the in-process merge (flash.ts).

/** Whether `store` takes and appends flash messages itself. */
export function usesStoreFlash(store: SessionStore): boolean {
  return store.takeFlash !== undefined && store.patch !== undefined
}

/**
 * The flash queue of a loaded record, checked by the flash schemas. With store operations and a
 * pending queue, the queue is taken out of the store first and what the store gave is used: the
 * record may be a copy another process has already taken the messages from.
 */
export function openFlash(
  s: RequestState,
  id: string,
  stored: unknown,
  check: (stored: unknown) => FlashQueue | Promise<FlashQueue>,
): FlashQueue | Promise<FlashQueue> {
  const store = s.config.store
  if (!usesStoreFlash(store) || !hasMessages(stored)) return check(stored)
  return store.takeFlash!(id).then(async (taken) => {
    const queue = await check(parseTaken(taken))
    if (Object.keys(queue).length > 0) s.takenFlash = copyQueue(queue)
    return queue
  })
}

/**
 * The flash slot of a patch: the messages to append (what the request has not shown, then what it
 * queued), never a `flash` key in `set` or `unset`. `undefined` when the store keeps flash in the
 * record (the caller then writes the slot as part of the data).
 */
export function flashAppend(s: RequestState): Pick<SessionPatch, 'flash'> | undefined {
  if (!usesStoreFlash(s.config.store)) return undefined
  return s.flash.isEmpty ? {} : { flash: s.flash.queue }
}

/**
 * After a write with store operations: the request's queue is in the store now (appended, or in
 * the created record). Start an empty one, so a second `save()` appends only what comes after.
 */
export function flashWritten(s: RequestState): void {
  s.takenFlash = undefined
  s.flash = new FlashState()
}

/** Whether the commit must write to give back taken messages the handler did not show. */
export function mustReturnFlash(s: RequestState): boolean {
  return s.takenFlash !== undefined && !s.flash.isEmpty
}

/**
 * The commit is skipped (a 5xx response, `req.session = null`): nothing of this request is saved,
 * so the messages it took are put back as they were, shown or not, as if it never loaded them.
 */
export async function returnTakenFlash(s: RequestState): Promise<void> {
  const taken = s.takenFlash
  if (taken === undefined || s.record !== 'stored') return
  s.takenFlash = undefined
  await s.config.store.patch!(s.id, { set: {}, unset: [], cookie: s.cookie.toJSON(), flash: taken })
}

/**
 * reload(): the flash queue of the record as the store holds it now. With store operations the
 * messages this request took (and has not shown) are no longer in the store, so they stay, and
 * the ones queued there since are taken too.
 */
export async function reloadedFlash(
  s: RequestState,
  stored: unknown,
  check: (stored: unknown) => FlashQueue | Promise<FlashQueue>,
): Promise<FlashState> {
  if (!usesStoreFlash(s.config.store)) return new FlashState(await check(stored))
  const before = s.takenFlash
  const kept = s.flash.queue
  const taken = await openFlash(s, s.id, stored, check)
  s.takenFlash = joinQueues(before ?? {}, s.takenFlash ?? {})
  if (Object.keys(s.takenFlash).length === 0) s.takenFlash = undefined
  return new FlashState(joinQueues(kept, taken))
}

function hasMessages(stored: unknown): boolean {
  if (typeof stored !== 'object' || stored === null) return stored !== undefined && stored !== null
  for (const key in stored) if (Object.hasOwn(stored, key)) return true
  return false
}

/** What `takeFlash` resolved: a queue object, its JSON, or nothing. */
function parseTaken(taken: unknown): unknown {
  if (typeof taken !== 'string') return taken ?? undefined
  try {
    return JSON.parse(taken) as unknown
  } catch {
    // Junk in the slot: the flash check drops it (and reports it) like any invalid queue.
    return taken
  }
}

function copyQueue(queue: FlashQueue): FlashQueue {
  return joinQueues(queue, {})
}

/** `first` then `second`, kind by kind, as a new queue. */
function joinQueues(first: FlashQueue, second: FlashQueue): FlashQueue {
  const joined = Object.create(null) as FlashQueue
  for (const queue of [first, second]) {
    for (const kind of Object.keys(queue)) joined[kind] = [...(joined[kind] ?? []), ...queue[kind]!]
  }
  return joined
}
