import { randomFillSync } from 'node:crypto'

/**
 * What a session id may look like: 16 to 256 characters of the URL-safe base64 alphabet (UUIDs
 * fit too). Checked on every id read from a cookie, after the signature and before any store
 * call, so a hostile id (`../x`, `*`, 10 KB) never reaches a store query (OWASP: treat the
 * session id as untrusted input).
 */
const ID_PATTERN = /^[A-Za-z0-9_-]{16,256}$/

/** Random bytes per id: 192 bits, like express-session's uid-safe default (ASVS 5 asks for 128). */
const ID_BYTES = 24

/**
 * Entropy is drawn from the CSPRNG in blocks and handed out in slices, each slice exactly once,
 * as Node does for `crypto.randomUUID()`: one `randomFillSync` (a system call) per 170 ids instead
 * of one per id.
 */
const POOL_BYTES = ID_BYTES * 170
const pool = Buffer.alloc(POOL_BYTES)
let offset = POOL_BYTES

/** A new session id: 24 bytes from the CSPRNG as base64url (32 characters). */
export function generateId(): string {
  if (offset + ID_BYTES > POOL_BYTES) {
    randomFillSync(pool)
    offset = 0
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES)
  offset += ID_BYTES
  return id
}

/** Whether `id` has the shape of a session id. */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id)
}
