import { hasDuplicateCookie, readCookie } from '../cookie/read.js'
import { cookieSettingsFor } from '../cookie/settings.js'
import { SessionError, type SessionIssue } from '../errors.js'
import { OWNER_SLOT, ownerSlotOf } from '../owner/meta.js'
import { ownerOfData, withinEpoch } from '../owner/stamp.js'
import { type NestingProblem, nestingMessage, nestingProblem } from '../schema/nesting.js'
import { type Validation, validate } from '../schema/validate.js'
import type { SessionRecord, StoredCookie } from '../stores/types.js'
import { snapshotOf } from './changes.js'
import { type DroppedFlash, type FlashQueue, FlashState, loadFlash } from './flash.js'
import { isValidId } from './id.js'
import type { LiveEntry } from './registry.js'
import { pathMatches } from './request-facts.js'
import {
  assignData,
  COOKIE_KEY,
  FLASH_KEY,
  isPlainObject,
  type RequestState,
} from './request-state.js'
import { SessionObject } from './session-object.js'
import { openFlash } from './store-flash.js'

// Loading: from the request's cookie to a validated `req.session`. The validation policy lives
// here too: a record that fails the schema follows `onInvalid` (a fresh session by default), an
// expired one is deleted, and a cookie that does not verify starts a fresh session with a new id
// (never adopt a presented id: session fixation).

/**
 * Open the request's session. `true`: the session is ready and the handler may run. `false`: the
 * request went on without it (the path is outside the cookie path, or it failed and `next(err)`
 * was called). A promise (which may reject with a store error) when the store or schema is async.
 */
export function openSession(s: RequestState): boolean | Promise<boolean> {
  const { config, req } = s
  try {
    s.settings = cookieSettingsFor(config.name, config.cookieOption, config.cookieSettings, req)
  } catch (err) {
    s.next(err)
    return false
  }
  if (!pathMatches(req.originalUrl ?? req.url ?? '/', s.settings.path)) {
    s.next()
    return false
  }
  // With `secure: false` only a handler's `cookie.secure = true` needs it (decided then).
  if (s.settings.secure !== false) s.decideSecure()

  const id = presentedId(s)
  if (id === undefined) return fresh(s)
  try {
    return load(s, id)
  } catch (err) {
    s.fail(err)
    return false
  }
}

/** The verified id of the request's session cookie, or `undefined` (with the event saying why). */
function presentedId(s: RequestState): string | undefined {
  const { config, req } = s
  const value = readCookie(req, config.name)
  if (value === undefined) return undefined
  if (config.onEvent !== undefined && hasDuplicateCookie(req, config.name)) {
    s.emit({ type: 'duplicate_cookie' })
  }
  const verified = config.verifier.verify(value)
  if (verified === null) {
    s.emit({ type: 'invalid_signature' })
    return undefined
  }
  if (!isValidId(verified.id)) {
    s.emit({ type: 'malformed_id' })
    return undefined
  }
  s.presentedId = verified.id
  s.needsResign = verified.secretIndex > 0
  // Signed with the current secret: resending the cookie can reuse it instead of a new HMAC.
  if (verified.secretIndex === 0) s.presentedValue = value
  return verified.id
}

/**
 * Load `id` from the store; false when the request already failed. Synchronous all the way when
 * the store can answer at once (the in-process MemoryStore) and the schema is synchronous (zod,
 * valibot): the handler then runs in the same tick, with no promise made on the way.
 */
function load(s: RequestState, id: string): boolean | Promise<boolean> {
  const config = s.config
  const entry = config.registry.acquire(id)
  s.entry = entry
  // A write of another request may still be on its way to the store: merge with it, not with
  // what the store returns now.
  s.entryVersion = entry.pendingWrites > 0 ? -1 : entry.version
  if (!s.sharedHooks) s.res.once('close', () => s.release())
  const { store } = config
  if (store.getSync !== undefined) {
    const parts = store.getSync(id)
    return loaded(s, id, entry, parts?.data, parts?.cookie)
  }
  return store.get(id).then((raw) => loaded(s, id, entry, raw, undefined))
}

/**
 * Continue loading with what the store returned for `id`: the record, or (the in-process store)
 * its data JSON with the `cookie` beside it.
 */
function loaded(
  s: RequestState,
  id: string,
  entry: LiveEntry,
  raw: unknown,
  cookie: StoredCookie | undefined,
): boolean | Promise<boolean> {
  const config = s.config
  if (raw === undefined || raw === null || entry.destroyed) {
    s.emit({ type: 'unknown_id', id: id })
    s.release()
    return fresh(s)
  }
  const record = parseRecord(s, raw, id, cookie)
  if (typeof record === 'string') return invalid(s, id, [{ message: record }], undefined)
  s.id = id
  s.record = 'stored'
  s.cookie = s.newCookie()
  s.cookie.restore(record.cookie)
  const now = Date.now()
  if (s.cookie.expires !== null && s.cookie.expires.getTime() <= now) {
    // Saves cap the stored expiry at the absolute deadline, so an idle expiry at that moment is
    // the absolute timeout: report it as such (attack detection counts the two apart).
    const deadline = s.deadline()
    const type = deadline !== undefined && deadline <= now ? 'expired_absolute' : 'expired_idle'
    s.emit({ type, id: id })
    return discard(s)
  }
  if (config.absoluteTimeout !== undefined) {
    if (s.cookie.createdAt === undefined) {
      // Sessions from before the option was set start their absolute lifetime now.
      s.cookie.createdAt = now
      s.requireWrite('save')
    } else if (s.cookie.createdAt + config.absoluteTimeout <= now) {
      s.emit({ type: 'expired_absolute', id: id })
      return discard(s)
    }
  }
  if (config.owner !== undefined) {
    // Session index (issue 12): a session signed in under an older owner epoch ends here, on
    // every store, before its data is even validated.
    s.ownerSlot = ownerSlotOf(record)
    const alive = withinEpoch(config, s.ownerSlot)
    if (alive instanceof Promise)
      return alive.then((ok) => (ok ? validateLoaded(s, id, record) : revoked(s, id)))
    if (!alive) return revoked(s, id)
  }
  return validateLoaded(s, id, record)
}

function validateLoaded(
  s: RequestState,
  id: string,
  record: SessionRecord,
): boolean | Promise<boolean> {
  const data = validateData(s, record)
  if (data instanceof Promise) return data.then((valid) => accept(s, id, record, valid))
  return accept(s, id, record, data)
}

/** The owner's epoch moved on since this session signed in: end it, start a fresh one. */
function revoked(s: RequestState, id: string): Promise<boolean> {
  s.emit({ type: 'revoked', id, reason: 'epoch' })
  return discard(s)
}

/** Expose the validated data of a loaded record (or apply `onInvalid` when it failed). */
function accept(
  s: RequestState,
  id: string,
  record: SessionRecord,
  data: DataResult,
): boolean | Promise<boolean> {
  if (!data.ok) return invalidData(s, id, record, data.issues)
  // A signed-in session from before the `owner` option: stamp (and so index) it now.
  if (
    s.config.owner !== undefined &&
    s.ownerSlot === undefined &&
    ownerOfData(s.config, data.value) !== undefined
  )
    s.requireWrite('save')
  s.object = new SessionObject(s.owner)
  assignData(s.object, data.value, record)
  // Issue 10: with store flash operations, the pending queue is taken out of the store here.
  const queue = openFlash(s, id, record[FLASH_KEY], (stored) => loadStoredFlash(s, stored))
  if (queue instanceof Promise) return queue.then((loaded) => ready(s, loaded))
  return ready(s, queue)
}

function ready(s: RequestState, queue: FlashQueue): true {
  s.flash = new FlashState(queue)
  s.snapshot = snapshotOf(s.object)
  return true
}

/**
 * Parse what the store returned into a record with a cookie, or say why it is junk (a string,
 * reported to `onInvalid`). `cookie`: the record's cookie when the store keeps it apart from the
 * data (the in-process store), which `raw` then holds without it.
 */
export function parseRecord(
  s: RequestState,
  raw: unknown,
  id: string,
  cookie?: StoredCookie,
): SessionRecord | string {
  const notASession = 'the stored record is not a session object'
  let value = raw
  if (typeof raw === 'string') {
    if (raw.length > s.config.maxSessionBytes) return tooLarge(s, id, raw.length)
    try {
      value = JSON.parse(raw)
    } catch {
      return notASession
    }
    const problem = nestingProblem(value)
    if (problem !== undefined) return tooNested(s, id, problem)
  } else if (typeof raw === 'object' && raw !== null) {
    const problem = nestingProblem(raw)
    if (problem !== undefined) return tooNested(s, id, problem)
    // A store that parses for us (connect-redis, connect-pg-simple) is held to the same limit
    // (tj/connect-redis #354: sessions that grew until reading one took minutes). Measuring also
    // catches what cannot be serialised: a cycle, or nesting too deep for the stack.
    let bytes: number
    try {
      bytes = JSON.stringify(raw).length
    } catch {
      return notASession
    }
    if (bytes > s.config.maxSessionBytes) return tooLarge(s, id, bytes)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return notASession
  if (cookie !== undefined) (value as Record<string, unknown>)[COOKIE_KEY] = cookie
  const stored = (value as Record<string, unknown>)[COOKIE_KEY]
  if (typeof stored !== 'object' || stored === null) return notASession
  return value as SessionRecord
}

/** Refuse a stored record over `maxSessionBytes`, with a `too_large` report. */
function tooLarge(s: RequestState, id: string, bytes: number): string {
  s.emit({ type: 'too_large', id: id, bytes })
  return `the stored record is ${bytes} bytes, over maxSessionBytes (${s.config.maxSessionBytes})`
}

/** Refuse a stored record nested too deep or too wide for a schema, with a `too_nested` report. */
function tooNested(s: RequestState, id: string, problem: NestingProblem): string {
  s.emit({ type: 'too_nested', id: id, problem })
  return `the stored record is ${nestingMessage(problem)}`
}

/** A record's data as the schema returned it (a plain object), or the issues. */
export type DataResult =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly issues: readonly SessionIssue[] }

/** The record's data validated by the schema. */
export function validateData(
  s: RequestState,
  record: SessionRecord,
): DataResult | Promise<DataResult> {
  const result = validate(s.config.schema, dataOfRecord(record))
  if (result instanceof Promise) return result.then(asData)
  return asData(result)
}

function asData(result: Validation): DataResult {
  if (result.ok && isPlainObject(result.value))
    return result as { readonly ok: true; readonly value: Record<string, unknown> }
  return result.ok
    ? { ok: false, issues: [{ message: 'the schema output is not an object' }] }
    : result
}

/** The data keys of a stored record: without its cookie, flash and owner slots. */
function dataOfRecord(record: SessionRecord): Record<string, unknown> {
  const input: Record<string, unknown> = {}
  for (const key of Object.keys(record)) {
    if (key === COOKIE_KEY || key === FLASH_KEY || key === OWNER_SLOT || key === '__proto__')
      continue
    input[key] = record[key]
  }
  return input
}

/** The stored flash queue, each message checked by its kind's schema. */
export function loadStoredFlash(
  s: RequestState,
  stored: unknown,
): FlashQueue | Promise<FlashQueue> {
  // Most records carry no flash: no promise for them.
  if (stored === undefined || stored === null) return Object.create(null) as FlashQueue
  return validateFlash(s, stored)
}

async function validateFlash(s: RequestState, stored: unknown): Promise<FlashQueue> {
  const dropped: DroppedFlash[] = []
  const queue = await loadFlash(stored, s.config.flashSchemas, dropped)
  if (dropped.length > 0) {
    for (const drop of dropped) {
      s.emit({
        type: 'invalid_flash',
        id: s.id,
        kind: drop.kind,
        issues: drop.issues,
      })
    }
    s.requireWrite('save-flash')
  }
  return queue
}

/** A record failed the schema: apply `onInvalid`. */
async function invalidData(
  s: RequestState,
  id: string,
  record: SessionRecord,
  issues: readonly SessionIssue[],
): Promise<boolean> {
  const policy = s.config.onInvalid
  if (typeof policy !== 'function') return invalid(s, id, issues, undefined)
  s.emit({ type: 'invalid_data', id: id, issues })
  let repaired: unknown
  try {
    repaired = await policy(dataOfRecord(record), issues)
  } catch (err) {
    s.fail(err)
    return false
  }
  if (repaired === undefined) return discard(s)
  const result = await validate(s.config.schema, repaired)
  if (!result.ok || !isPlainObject(result.value))
    return invalid(s, id, result.ok ? [] : result.issues, 'repair')
  s.object = new SessionObject(s.owner)
  assignData(s.object, result.value)
  s.flash = new FlashState(await loadStoredFlash(s, record[FLASH_KEY]))
  // The repaired data is saved even if the handler changes nothing, as a whole record.
  s.snapshot = undefined
  s.requireWrite('replace')
  return true
}

/** A record that cannot be used: fail the request (`onInvalid: 'error'`) or discard it. */
async function invalid(
  s: RequestState,
  id: string,
  issues: readonly SessionIssue[],
  stage: 'repair' | undefined,
): Promise<boolean> {
  if (stage === undefined) s.emit({ type: 'invalid_data', id: id, issues })
  if (s.config.onInvalid === 'error') {
    s.release()
    s.fail(
      new SessionError(
        'ERR_SESSION_INVALID',
        'typed-session: the stored session fails the schema',
        {
          issues,
        },
      ),
    )
    return false
  }
  s.id = id
  s.record = 'stored'
  return discard(s)
}

/** Destroy the loaded record (expired or invalid) and continue with a fresh session. */
async function discard(s: RequestState): Promise<boolean> {
  await s.endStoredSession('new')
  return fresh(s)
}

/** Start a new, empty session with a new id; false when that failed (already reported). */
function fresh(s: RequestState): boolean | Promise<boolean> {
  s.record = 'new'
  s.ownerSlot = undefined
  try {
    s.id = s.newId()
  } catch (err) {
    s.fail(err)
    return false
  }
  s.cookie = s.newCookie()
  if (s.config.absoluteTimeout !== undefined) s.cookie.createdAt = Date.now()
  s.flash = new FlashState()
  s.object = new SessionObject(s.owner)
  const defaults = s.defaults()
  if (defaults instanceof Promise) {
    return defaults.then(
      (data) => {
        assignData(s.object, data)
        s.snapshot = snapshotOf(s.object)
        return true
      },
      (err: unknown) => {
        s.fail(err)
        return false
      },
    )
  }
  assignData(s.object, defaults)
  s.snapshot = snapshotOf(s.object)
  return true
}
