// What one request does with the owner slot: check it against the owner's epoch on load, and
// stamp it again on every write. The core calls these two functions and nothing else.
import type { SessionConfig } from '../core/config.js'
import { SessionError } from '../errors.js'
import {
  currentEpoch,
  epochMatches,
  isOwnerId,
  MAX_OWNER_LENGTH,
  newHandle,
  normalizeLabel,
  type OwnerSlot,
} from './meta.js'

/**
 * Whether a loaded session is still within its owner's epoch (always, without `ownerEpoch` or
 * without an owner). Synchronous when `ownerEpoch` is.
 */
export function withinEpoch(
  config: SessionConfig,
  slot: OwnerSlot | undefined,
): boolean | Promise<boolean> {
  if (slot === undefined || config.ownerEpoch === undefined) return true
  const current = currentEpoch(config.ownerEpoch, slot.owner)
  if (current instanceof Promise) return current.then((value) => epochMatches(slot, value))
  return epochMatches(slot, current)
}

/**
 * The owner of `data` by the `owner` option: a valid id or `undefined` (anonymous).
 * @throws `ERR_SESSION_OPTIONS` when `owner` returns something that cannot name an owner.
 */
export function ownerOfData(
  config: SessionConfig,
  data: Readonly<Record<string, unknown>>,
): string | undefined {
  const owner = config.owner?.(data)
  if (owner === undefined || owner === null) return undefined
  if (!isOwnerId(owner)) {
    throw new SessionError(
      'ERR_SESSION_OPTIONS',
      `typed-session: owner() must return a string of 1 to ${MAX_OWNER_LENGTH} characters or undefined (convert a numeric id with String(id))`,
    )
  }
  return owner
}

/**
 * The slot to write with `data`: `undefined` for an anonymous session; the same sign-in (handle,
 * creation time, epoch) when the owner did not change; a new sign-in when it did (login, a switch of
 * user, or the first write after `regenerate()`).
 */
export async function nextSlot(
  config: SessionConfig,
  data: Readonly<Record<string, unknown>>,
  previous: OwnerSlot | undefined,
  now: number,
): Promise<OwnerSlot | undefined> {
  const owner = ownerOfData(config, data)
  if (owner === undefined) return undefined
  const label = normalizeLabel(config.sessionLabel?.(data))
  if (previous !== undefined && previous.owner === owner) {
    const { label: _old, ...kept } = previous
    return label === undefined ? { ...kept, activeAt: now } : { ...kept, activeAt: now, label }
  }
  const slot: { -readonly [TKey in keyof OwnerSlot]: OwnerSlot[TKey] } = {
    owner,
    handle: newHandle(),
    createdAt: now,
    activeAt: now,
  }
  if (label !== undefined) slot.label = label
  if (config.ownerEpoch !== undefined) {
    const epoch = await currentEpoch(config.ownerEpoch, owner)
    if (epoch !== undefined) slot.epoch = epoch
  }
  return slot
}
