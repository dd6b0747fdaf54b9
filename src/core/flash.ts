import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { SessionIssue } from '../errors.js'
import { validate } from '../schema/validate.js'

/** Pending flash messages, by kind, as stored under `flash` in the record (connect-flash's place). */
export type FlashQueue = Record<string, unknown[]>

/** One flash message that failed its schema and was dropped. */
export interface DroppedFlash {
  readonly kind: string
  readonly issues: readonly SessionIssue[]
}

/**
 * One request's view of the flash messages: what was loaded, what this request took and added.
 * Taking and adding are kept as operations (not just a new queue) so two overlapping requests can
 * be merged without losing a message or showing one twice.
 */
export class FlashState {
  queue: FlashQueue
  /** Messages this request took, as `kind + NUL + JSON`, to remove them from a newer record too. */
  readonly taken: string[] = []
  /** Messages this request queued, in order. */
  readonly added: Array<readonly [string, unknown]> = []

  constructor(queue: FlashQueue = Object.create(null) as FlashQueue) {
    this.queue = queue
  }

  get changed(): boolean {
    return this.taken.length > 0 || this.added.length > 0
  }

  get isEmpty(): boolean {
    for (const kind in this.queue) if (this.queue[kind]!.length > 0) return false
    return true
  }

  /** Queue `value` under `kind`; returns how many messages of that kind are queued. */
  add(kind: string, value: unknown): number {
    const list = this.queue[kind] ?? []
    this.queue[kind] = list
    list.push(value)
    this.added.push([kind, value])
    return list.length
  }

  /** Take (return and remove) the messages of one kind, skipping those `alreadyTaken` elsewhere. */
  take(kind: string, alreadyTaken: ReadonlySet<string> | undefined): unknown[] {
    const list = this.queue[kind]
    if (list === undefined || list.length === 0) return []
    delete this.queue[kind]
    const result: unknown[] = []
    for (const value of list) {
      const key = flashKey(kind, value)
      this.taken.push(key)
      if (alreadyTaken?.has(key) !== true) result.push(value)
    }
    return result
  }

  /** Take every kind. */
  takeAll(alreadyTaken: ReadonlySet<string> | undefined): FlashQueue {
    const all = Object.create(null) as FlashQueue
    for (const kind of Object.keys(this.queue)) {
      const values = this.take(kind, alreadyTaken)
      if (values.length > 0) all[kind] = values
    }
    return all
  }

  /** This request's operations applied to `base` (a newer queue written by another request). */
  mergeInto(base: unknown): FlashQueue {
    const merged = Object.create(null) as FlashQueue
    if (isRecord(base)) {
      for (const kind of Object.keys(base)) {
        const list = base[kind]
        if (Array.isArray(list)) merged[kind] = [...list]
      }
    }
    for (const key of this.taken) {
      const kind = key.slice(0, key.indexOf('\0'))
      const list = merged[kind]
      const index = list?.findIndex((value) => flashKey(kind, value) === key) ?? -1
      if (index >= 0) list!.splice(index, 1)
    }
    for (const [kind, value] of this.added) {
      const list = merged[kind] ?? []
      list.push(value)
      merged[kind] = list
    }
    for (const kind of Object.keys(merged)) if (merged[kind]!.length === 0) delete merged[kind]
    return merged
  }
}

/** The identity of one message, to recognise it in another copy of the queue. */
function flashKey(kind: string, value: unknown): string {
  return `${kind}\0${JSON.stringify(value)}`
}

/**
 * Validate a stored flash queue message by message: one bad message is dropped (and reported)
 * without losing the valid ones or the session. Unknown kinds are dropped too.
 */
export async function loadFlash(
  stored: unknown,
  schemas: Readonly<Record<string, StandardSchemaV1>> | undefined,
  dropped: DroppedFlash[],
): Promise<FlashQueue> {
  const queue = Object.create(null) as FlashQueue
  if (stored === undefined || stored === null) return queue
  if (!isRecord(stored)) {
    dropped.push({ kind: '', issues: [{ message: 'flash is not an object' }] })
    return queue
  }
  for (const kind of Object.keys(stored)) {
    const values = stored[kind]
    const schema =
      schemas === undefined ? undefined : Object.hasOwn(schemas, kind) ? schemas[kind] : undefined
    if (schema === undefined || !Array.isArray(values)) {
      dropped.push({
        kind,
        issues: [{ message: schema === undefined ? 'unknown flash kind' : 'not a list' }],
      })
      continue
    }
    const kept: unknown[] = []
    for (const value of values) {
      const result = await validate(schema, value)
      if (result.ok) kept.push(result.value)
      else dropped.push({ kind, issues: result.issues })
    }
    if (kept.length > 0) queue[kind] = kept
  }
  return queue
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
