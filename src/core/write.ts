import { SessionError, type SessionIssue } from '../errors.js'
import { OWNER_SLOT, type OwnerSlot } from '../owner/meta.js'
import { nextSlot } from '../owner/stamp.js'
import { nestingMessage, nestingProblem } from '../schema/nesting.js'
import { type Validation, validate } from '../schema/validate.js'
import type { SessionPatch, SessionRecord, SyncWrites } from '../stores/types.js'
import { type Changes, changesOf, diffOf } from './changes.js'
import { FlashState } from './flash.js'
import type { LiveEntry } from './registry.js'

import {
  COOKIE_KEY,
  FLASH_KEY,
  isPlainObject,
  type RecordState,
  type RequestState,
} from './request-state.js'
import { clearCookie } from './set-cookie.js'
import { flashAppend, flashWritten, usesStoreFlash } from './store-flash.js'

// The store writes of the commit: a save (a whole record, or a patch of the changed keys), and a
// touch. Writes to one session made by requests of this process are ordered and merged through the
// shared registry entry, so overlapping requests lose nothing and logout stays final.

/**
 * Write the session now (explicit `save()` or the end of the request). `undefined` when the write
 * is already done: with a synchronous schema and an in-process store (`writeSync`) and no other
 * write of this session in flight it happens at once, with no promise on the way (the response is
 * then released in the same tick, as the load already runs its handler in the same tick).
 *
 * @throws {SessionError} `ERR_SESSION_DESTROYED` after `destroy()`, `ERR_SESSION_TOO_LARGE` over
 * `maxSessionBytes`, `ERR_SESSION_INVALID_DATA` for data the schema refuses or would drop; the
 * store's own failure (`ERR_SESSION_STORE`) as it rejected. Thrown, or rejected when async.
 */
export function writeSession(
  s: RequestState,
  changes: Changes = changesOf(s),
): Promise<void> | undefined {
  if (s.record === 'destroyed')
    throw new SessionError('ERR_SESSION_DESTROYED', 'typed-session: the session was destroyed')
  const config = s.config
  if (changes.json.length > config.maxSessionBytes) {
    s.emit({ type: 'too_large', id: s.id, bytes: changes.json.length })
    throw new SessionError(
      'ERR_SESSION_TOO_LARGE',
      `typed-session: the session is ${changes.json.length} bytes, over maxSessionBytes (${config.maxSessionBytes})`,
    )
  }
  // Nothing invalid is ever written: the next load would have to throw it away.
  const plain = JSON.parse(changes.json) as Record<string, unknown>
  refuseNested(s, plain, 'the session')
  const result = validate(config.schema, plain)
  if (result instanceof Promise) return result.then((valid) => writeValid(s, changes, plain, valid))
  return writeValid(s, changes, plain, result)
}

/** Continue a write once the schema has answered. */
function writeValid(
  s: RequestState,
  changes: Changes,
  plain: Record<string, unknown>,
  result: Validation,
): Promise<void> | undefined {
  if (!result.ok) {
    const removed = removedKeys(plain, changes.snapshot, result.issues)
    if (removed.length > 0) return completeRemoval(s, plain, removed, result.issues)
    throw new SessionError(
      'ERR_SESSION_INVALID_DATA',
      'typed-session: the session data fails the schema',
      {
        issues: result.issues,
      },
    )
  }
  const dropped = Object.keys(plain).filter((key) => !Object.hasOwn(result.value as object, key))
  if (dropped.length > 0) {
    throw new SessionError(
      'ERR_SESSION_INVALID_DATA',
      `typed-session: session key(s) ${dropped.map((key) => `"${key}"`).join(', ')} are not in the schema and would be lost: add them to it`,
    )
  }
  const config = s.config
  if (config.owner === undefined) return writeRecord(s, changes, plain, undefined)
  // Session index (issue 12): who owns the session as written, stamped into its record.
  return nextSlot(config, result.value as Record<string, unknown>, s.ownerSlot, Date.now()).then(
    (slot) => writeRecord(s, changes, plain, slot),
  )
}

/** Merge, then write the record: at once when the store can, else in this session's queue. */
function writeRecord(
  s: RequestState,
  changes: Changes,
  plain: Record<string, unknown>,
  slot: OwnerSlot | undefined,
): Promise<void> | undefined {
  const hadSlot = s.ownerSlot !== undefined
  s.cookie.renew(Date.now(), s.deadline())
  const entry = s.entry
  const record = merge(s, plain, changes, entry) as SessionRecord
  if (slot !== undefined) record[OWNER_SLOT] = slot
  else delete record[OWNER_SLOT]
  const write: PendingWrite = { id: s.id, entry, plain, changes, record, slot, hadSlot }
  if (entry !== undefined) {
    entry.version++
    s.entryVersion = entry.version
    entry.latestJson = latestJson(record, changes.json, plain)
    entry.pendingWrites++
  }
  const now = s.config.store.writeSync
  if (now !== undefined && s.creating === undefined && (entry?.pendingWrites ?? 1) === 1) {
    try {
      if (!replaceUnchanged(s, write, now)) runNow(s, write.id, planOf(s, write), now)
    } finally {
      if (entry !== undefined) entry.pendingWrites--
    }
    written(s, changes, slot)
    return undefined
  }
  return queueWrite(s, write, entry)
}

async function queueWrite(
  s: RequestState,
  write: PendingWrite,
  entry: LiveEntry | undefined,
): Promise<void> {
  const turn = (): Promise<void> => run(s, write.id, planOf(s, write))
  try {
    // Writes to one session reach the store in the order they were merged. A write queued behind
    // one that failed fails with it instead of waiting its own turn: behind a hanging store, N
    // queued writes would otherwise hold the last request for N * storeTimeout.
    const queued =
      entry === undefined || entry.pendingWrites === 1 ? turn() : entry.queue.then(turn)
    if (entry !== undefined) entry.queue = queued
    queued.catch(() => undefined)
    await queued
  } finally {
    if (entry !== undefined) entry.pendingWrites--
  }
  written(s, write.changes, write.slot)
}

/** After a write: the session is stored as written. */
function written(s: RequestState, changes: Changes, slot: OwnerSlot | undefined): void {
  // A `destroy()` that ran meanwhile stays final.
  if ((s.record as RecordState) !== 'destroyed') s.record = 'stored'
  s.saved = true
  if (changes.any || s.forced !== 'none' || s.cookie.changed) s.savedChanges = true
  s.ownerSlot = slot
  s.forced = 'none'
  s.cookie.changed = false
  s.snapshot = changes.json
  if (usesStoreFlash(s.config.store)) flashWritten(s)
  else s.flash = new FlashState(s.flash.queue)
}

/** One merged write, as it waits for its turn. */
interface PendingWrite {
  /** The id when merged: a `regenerate()` while the write waits does not move it. */
  readonly id: string
  readonly entry: LiveEntry | undefined
  readonly plain: Record<string, unknown>
  readonly changes: Changes
  readonly record: SessionRecord
  readonly slot: OwnerSlot | undefined
  readonly hadSlot: boolean
}

/** What a write does to the store, decided when its turn comes. */
type WritePlan =
  | { readonly kind: 'blocked' }
  | { readonly kind: 'patch'; readonly patch: SessionPatch }
  | { readonly kind: 'create' | 'set'; readonly record: SessionRecord }

function planOf(s: RequestState, write: PendingWrite): WritePlan {
  if (write.entry?.destroyed === true) return { kind: 'blocked' }
  const store = s.config.store
  if (store.patch !== undefined && s.record === 'stored' && s.forced !== 'replace') {
    const { plain, changes, record, slot } = write
    const diff = diffOf(plain, changes.snapshot)
    const flash = record[FLASH_KEY]
    const patchSet = { ...diff.set }
    const flashChanged = s.flash.changed || s.forced === 'save-flash'
    // Issue 10: a store with flash operations appends the queue itself (`patch.flash`).
    const append = flashAppend(s)
    // An emptied queue is unset, not stored as `{}`, as a full write would leave it.
    if (append === undefined && flashChanged && flash !== undefined) patchSet[FLASH_KEY] = flash
    let unset =
      append === undefined && flash === undefined && flashChanged
        ? [...diff.unset, FLASH_KEY]
        : diff.unset
    if (slot !== undefined) patchSet[OWNER_SLOT] = slot
    else if (write.hadSlot) unset = [...unset, OWNER_SLOT]
    return { kind: 'patch', patch: { set: patchSet, unset, cookie: record.cookie, ...append } }
  }
  if (s.record === 'new' && store.create !== undefined)
    return { kind: 'create', record: write.record }
  return { kind: 'set', record: write.record }
}

/** Carry out `plan` through the store's Promise methods. */
async function run(s: RequestState, id: string, plan: WritePlan): Promise<void> {
  const store = s.config.store
  switch (plan.kind) {
    case 'blocked':
      blocked(s, id)
      return
    case 'patch':
      if (!(await store.patch!(id, plan.patch))) blocked(s, id)
      return
    case 'create':
      await createRecord(s, id, plan.record)
      return
    case 'set':
      await store.set(id, plan.record)
  }
}

/** The session was ended meanwhile (logout, revocation): the write was not made, and says so. */
function blocked(s: RequestState, id: string): void {
  s.writeBlocked = true
  s.emit({ type: 'resurrection_blocked', id: id })
}

/**
 * The in-process store still holds exactly the data this request loaded (or last wrote), and
 * nothing but data is involved (no flash, no owner slot, no forced rewrite): write the JSON already
 * made over it, instead of a per-key diff that the store then applies key by key. `false` when any
 * of that does not hold (the store found other data: another writer), and nothing was written.
 */
function replaceUnchanged(s: RequestState, write: PendingWrite, now: SyncWrites): boolean {
  const snapshot = write.changes.snapshot
  if (
    snapshot === undefined ||
    s.record !== 'stored' ||
    s.forced !== 'none' ||
    write.entry?.destroyed === true ||
    write.slot !== undefined ||
    write.hadSlot ||
    s.takenFlash !== undefined ||
    !s.flash.isEmpty ||
    s.flash.changed
  )
    return false
  return now.replace(write.id, snapshot, write.changes.json, write.record.cookie)
}

/** Carry out `plan` at once, through the in-process store's synchronous writes. */
function runNow(s: RequestState, id: string, plan: WritePlan, now: SyncWrites): void {
  switch (plan.kind) {
    case 'blocked':
      blocked(s, id)
      return
    case 'patch':
      if (!now.patch(id, plan.patch)) blocked(s, id)
      return
    case 'create':
      // As `createRecord`, settled: a later save of this request (async) then writes over it.
      if (!now.create(id, plan.record)) throw idTaken()
      s.creating = { id: id, done: Promise.resolve(true) }
      return
    case 'set':
      now.set(id, plan.record)
  }
}

// ---- Issue 10: create-if-absent ---------------------------------------------------------------

/**
 * Write a new session with the store's `create`: only if no record has its id, so no write can
 * bring back an id another process ended and two processes can never own one id. A second save of
 * the same new session in this request (a `save()` not awaited before the response ended) waits
 * for the first and then writes the whole record over it.
 *
 * @throws {SessionError} `ERR_SESSION_STORE` when the store already holds a record under the new
 * id (a `genid` that repeats itself, or an id another process created first).
 */
async function createRecord(s: RequestState, id: string, record: SessionRecord): Promise<void> {
  const store = s.config.store
  const pending = s.creating
  if (pending !== undefined && pending.id === id) {
    await pending.done.catch(() => false)
    await store.set(id, record)
    return
  }
  const done = store.create!(id, record)
  s.creating = { id, done }
  if (await done) return
  throw idTaken()
}

function idTaken(): SessionError {
  return new SessionError(
    'ERR_SESSION_STORE',
    'typed-session: the store already holds a session under the new id; it was not overwritten',
  )
}

/**
 * A save the schema refuses only because this request removed part of a key (Passport's logout
 * deletes `passport.user` and leaves `passport: {}`): refusing it would keep the old, fuller value
 * in the store, so the login would outlive the logout. A removal never fails open: the whole key
 * goes (when the schema allows its absence), or else the session ends.
 */
async function completeRemoval(
  s: RequestState,
  plain: Record<string, unknown>,
  keys: readonly string[],
  issues: readonly SessionIssue[],
): Promise<void> {
  const without = { ...plain }
  for (const key of keys) delete without[key]
  const retry = await validate(s.config.schema, without)
  if (retry.ok) {
    const data = s.object as unknown as Record<string, unknown>
    for (const key of keys) delete data[key]
    s.emit({ type: 'removal_completed', id: s.id, keys })
    return writeSession(s)
  }
  await destroySession(s)
  throw new SessionError(
    'ERR_SESSION_INVALID_DATA',
    `typed-session: removing from ${keys.map((key) => `"${key}"`).join(', ')} leaves data the schema refuses, with or without the key: the session was ended rather than kept`,
    { issues },
  )
}

/**
 * The top-level keys the schema refused whose change in this request was a pure removal (the key
 * deleted, or properties deleted inside it, nothing added or changed), measured against the
 * snapshot.
 */
function removedKeys(
  plain: Record<string, unknown>,
  snapshot: string | undefined,
  issues: readonly SessionIssue[],
): string[] {
  if (snapshot === undefined) return []
  const before = JSON.parse(snapshot) as Record<string, unknown>
  const keys: string[] = []
  for (const issue of issues) {
    const first = issue.path?.[0]
    const key = typeof first === 'object' && first !== null ? first.key : first
    if (typeof key !== 'string' || keys.includes(key) || !Object.hasOwn(before, key)) continue
    const next = Object.hasOwn(plain, key) ? plain[key] : undefined
    if (next === undefined || (isRemovalOf(next, before[key]) && !sameJson(next, before[key])))
      keys.push(key)
  }
  return keys
}

/** Whether `next` is `previous` with zero or more object properties deleted, at any depth. */
function isRemovalOf(next: unknown, previous: unknown): boolean {
  if (!isPlainObject(next) || !isPlainObject(previous)) return sameJson(next, previous)
  for (const key of Object.keys(next)) {
    if (!Object.hasOwn(previous, key) || !isRemovalOf(next[key], previous[key])) return false
  }
  return true
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/**
 * Refuse `value` before a schema sees it when it is nested too deep or too wide (client JSON
 * stored in the session: a schema's recursion would overflow, and zod leaks memory when it does).
 *
 * @throws {SessionError} `ERR_SESSION_INVALID_DATA`, after a `too_nested` event.
 */
export function refuseNested(s: RequestState, value: unknown, what: string): void {
  const problem = nestingProblem(value)
  if (problem === undefined) return
  s.emit({ type: 'too_nested', id: s.id, problem })
  throw new SessionError(
    'ERR_SESSION_INVALID_DATA',
    `typed-session: ${what} is ${nestingMessage(problem)}, the most a session value may be`,
  )
}

/**
 * End the session: `req.session` removed, no write after this, the cookie cleared, the stored
 * record deleted.
 */
export async function destroySession(s: RequestState): Promise<void> {
  Object.freeze(s.object)
  // As express-session does: later code (a `req.session.user` check) must see no session at all.
  // A reference kept from before stays frozen and its members reject.
  if (s.req.session === s.object) delete s.req.session
  // Clear the cookie only where the browser has one: a logout without a cookie sets nothing.
  if (s.presentedId !== undefined || s.record === 'stored') clearCookie(s)
  await s.endStoredSession('destroyed')
}

/** Extend the life of an unchanged session in the store (`store.touch`). */
export async function touchSession(s: RequestState): Promise<void> {
  const entry = s.entry
  if (entry?.destroyed === true) return
  s.cookie.renew(Date.now(), s.deadline())
  const record = { cookie: s.cookie.toJSON() } as SessionRecord
  const data = s.object as unknown as Record<string, unknown>
  for (const key of Object.keys(data)) record[key] = data[key]
  // Some express-session stores rewrite the whole record on touch: keep the owner slot in it.
  if (s.ownerSlot !== undefined) record[OWNER_SLOT] = s.ownerSlot
  await s.config.store.touch!(s.id, record)
}

/**
 * The record to write: this request's data, or, when another request of this process wrote the
 * session since this one loaded it, that newer record with only this request's changes on top.
 */
function merge(
  s: RequestState,
  plain: Record<string, unknown>,
  changes: Changes,
  entry: LiveEntry | undefined,
): Record<string, unknown> {
  if (entry === undefined || entry.version === s.entryVersion || entry.latestJson === undefined) {
    const record: Record<string, unknown> = plain
    if (!s.flash.isEmpty) record[FLASH_KEY] = s.flash.queue
    record[COOKIE_KEY] = s.cookie.toJSON()
    return record
  }
  const base = JSON.parse(entry.latestJson) as Record<string, unknown>
  const { set, unset } = diffOf(plain, changes.snapshot)
  for (const key of Object.keys(set)) base[key] = set[key]
  for (const key of unset) delete base[key]
  const flash = s.flash.mergeInto(base[FLASH_KEY])
  delete base[FLASH_KEY]
  if (Object.keys(flash).length > 0) base[FLASH_KEY] = flash
  base[COOKIE_KEY] = s.cookie.toJSON()
  return base
}

/**
 * The record as written, without its cookie, as JSON: what an overlapping request merges onto.
 * When the record is this request's own data it is the JSON already made (`dataJson`), plus the
 * flash queue; only a merged record is serialized again.
 */
function latestJson(
  record: Record<string, unknown>,
  dataJson: string,
  plain: Record<string, unknown>,
): string {
  if (record !== plain) {
    const { cookie: _cookie, ...latest } = record
    return JSON.stringify(latest)
  }
  const flash = record[FLASH_KEY]
  if (flash === undefined) return dataJson
  const separator = dataJson === '{}' ? '' : ','
  return `${dataJson.slice(0, -1)}${separator}"${FLASH_KEY}":${JSON.stringify(flash)}}`
}
