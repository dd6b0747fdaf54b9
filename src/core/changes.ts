import { SessionError } from '../errors.js'
import { COOKIE_KEY, FLASH_KEY, type RequestState } from './request-state.js'
import type { SessionObject } from './session-object.js'

// What changed: the session's data against its snapshot (the JSON it had when loaded or last
// saved), and, for the writes that need it (a merge, a patch), key by key.

/** The result of comparing the session with its snapshot. */
export interface Changes {
  readonly any: boolean
  /** The whole data as JSON. */
  readonly json: string
  /** The snapshot it was compared with. */
  readonly snapshot: string | undefined
}

/** The data keys one request set (or changed) and dropped. */
export interface Diff {
  readonly set: Record<string, unknown>
  readonly unset: readonly string[]
}

/** The snapshot of a session's data: its JSON, as a save would write it. */
export function snapshotOf(object: SessionObject): string {
  return JSON.stringify(object)
}

/**
 * Whether the handler changed the data, measured against the snapshot: one `JSON.stringify` and
 * a string compare. The per-key diff is left to the writes that need it (a merge, a `patch`).
 *
 * @throws {SessionError} `ERR_SESSION_INVALID_DATA` when the data cannot be JSON (a cycle, a BigInt).
 */
export function changesOf(s: RequestState): Changes {
  const data = s.object as unknown as Record<string, unknown>
  let json: string
  try {
    json = JSON.stringify(data)
  } catch (cause) {
    throw new SessionError(
      'ERR_SESSION_INVALID_DATA',
      `typed-session: session key "${unserializableKey(data)}" cannot be saved as JSON`,
      { cause },
    )
  }
  const snapshot = s.snapshot
  return { any: json !== snapshot || s.flash.changed, json, snapshot }
}

/**
 * What `plain` (the data about to be written, parsed from its JSON) changed against `snapshot`,
 * key by key. The stored `cookie` and `flash` slots are not data and are left to the caller.
 */
export function diffOf(plain: Record<string, unknown>, snapshot: string | undefined): Diff {
  const before = snapshot === undefined ? {} : (JSON.parse(snapshot) as Record<string, unknown>)
  // No prototype: a key named `__proto__` stays a key instead of reaching a prototype.
  const set = Object.create(null) as Record<string, unknown>
  const unset: string[] = []
  for (const key of Object.keys(plain)) {
    if (key === COOKIE_KEY || key === FLASH_KEY) continue
    if (!Object.hasOwn(before, key) || JSON.stringify(plain[key]) !== JSON.stringify(before[key])) {
      set[key] = plain[key]
    }
  }
  for (const key of Object.keys(before)) {
    if (!Object.hasOwn(plain, key)) unset.push(key)
  }
  return { set, unset }
}

/** The first key whose value `JSON.stringify` refuses (a cycle, a BigInt), for the error message. */
function unserializableKey(data: Record<string, unknown>): string {
  for (const key of Object.keys(data)) {
    try {
      JSON.stringify(data[key])
    } catch {
      return key
    }
  }
  return '?'
}
