// The `$session` slot of a stored record: who owns the session and what `listSessions` shows.
// Only owned sessions carry it, so anonymous traffic pays nothing for the index.
import { createHash, randomBytes } from 'node:crypto'
import type { SessionPatch, SessionRecord } from '../stores/types.js'
import type { OwnerEpoch } from './types.js'

/** The reserved record key of the owner slot (beside `cookie` and `flash`). */
export const OWNER_SLOT = '$session'

/** Longest owner id: it becomes part of a store key (Redis) or an indexed column (PostgreSQL). */
export const MAX_OWNER_LENGTH = 256
/** Longest label kept; a longer one is cut (it is display text, not data). */
export const MAX_LABEL_LENGTH = 200
/** Random bytes of a handle: 128 bits, so handles cannot be guessed across owners. */
const HANDLE_BYTES = 16
const HANDLE_PATTERN = /^[A-Za-z0-9_-]{22}$/

/** The owner slot as stored. */
export interface OwnerSlot {
  readonly owner: string
  readonly handle: string
  /** When the owner signed in on this session, ms since the epoch. */
  readonly createdAt: number
  /** The last write, ms since the epoch. */
  readonly activeAt: number
  readonly label?: string
  /** SHA-256 of the owner's epoch at sign-in, when `ownerEpoch` is set. */
  readonly epoch?: string
}

/**
 * The owner named by a record's owner slot, or `undefined` for an anonymous record. Stores that
 * keep an index call this on every record they are given by `set` (or create).
 */
export function recordOwner(record: Readonly<Record<string, unknown>>): string | undefined {
  return readOwnerSlot(record[OWNER_SLOT])?.owner
}

/**
 * What a patch does to the owner: the new owner (`string`), `null` when the patch removes the
 * owner slot (logout without destroy), `undefined` when it leaves the owner as it was. Stores that
 * keep an index call this on every patch.
 */
export function patchOwner(patch: SessionPatch): string | null | undefined {
  if (Object.hasOwn(patch.set, OWNER_SLOT))
    return readOwnerSlot(patch.set[OWNER_SLOT])?.owner ?? null
  return patch.unset.includes(OWNER_SLOT) ? null : undefined
}

/** The owner slot of a record if it is well-formed; anything else counts as no owner. */
export function readOwnerSlot(value: unknown): OwnerSlot | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const slot = value as Record<string, unknown>
  const { owner, handle, createdAt, activeAt, label, epoch } = slot
  if (!isOwnerId(owner) || typeof handle !== 'string' || !HANDLE_PATTERN.test(handle))
    return undefined
  if (!isTime(createdAt) || !isTime(activeAt)) return undefined
  if (label !== undefined && (typeof label !== 'string' || label.length > MAX_LABEL_LENGTH))
    return undefined
  if (epoch !== undefined && typeof epoch !== 'string') return undefined
  return slot as unknown as OwnerSlot
}

/** Whether `value` can be an owner id. */
export function isOwnerId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_OWNER_LENGTH
}

/** A fresh handle: random, so it says nothing about the id and survives secret rotation. */
export function newHandle(): string {
  return randomBytes(HANDLE_BYTES).toString('base64url')
}

/**
 * What a session stores of the owner's epoch: a hash, so a credential fingerprint used as the
 * epoch never reaches the store. Not keyed by the secret: rotating it must not end every session.
 */
export function epochDigest(owner: string, epoch: string | number): string {
  return createHash('sha256')
    .update(owner)
    .update('\u0000')
    .update(String(epoch))
    .digest('base64url')
}

/** Cut a label to its stored length; `undefined` for anything that is not a non-empty string. */
export function normalizeLabel(label: unknown): string | undefined {
  if (typeof label !== 'string' || label === '') return undefined
  return label.length > MAX_LABEL_LENGTH ? label.slice(0, MAX_LABEL_LENGTH) : label
}

/** The owner slot of a record, if it has a well-formed one. */
export function ownerSlotOf(record: SessionRecord): OwnerSlot | undefined {
  return readOwnerSlot(record[OWNER_SLOT])
}

/**
 * The digest of `owner`'s current epoch (`undefined` when there is none), synchronously when
 * `ownerEpoch` answers synchronously: the memory store's load path stays promise-free.
 */
export function currentEpoch(
  ownerEpoch: (owner: string) => OwnerEpoch | Promise<OwnerEpoch>,
  owner: string,
): string | undefined | Promise<string | undefined> {
  const epoch = ownerEpoch(owner)
  if (epoch instanceof Promise) return epoch.then((value) => digestOf(owner, value))
  return digestOf(owner, epoch)
}

/** Whether a session signed in with `slot` is still within its owner's epoch `current`. */
export function epochMatches(slot: OwnerSlot, current: string | undefined): boolean {
  return slot.epoch === current
}

function digestOf(owner: string, epoch: OwnerEpoch): string | undefined {
  return epoch === undefined || epoch === null ? undefined : epochDigest(owner, epoch)
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}
