import { randomBytes } from 'node:crypto'

/**
 * What a session id may look like: 16 to 256 characters of the URL-safe base64 alphabet (UUIDs
 * fit too). Checked on every id read from a cookie, after the signature and before any store
 * call, so a hostile id (`../x`, `*`, 10 KB) never reaches a store query (OWASP: treat the
 * session id as untrusted input).
 */
const ID_PATTERN = /^[A-Za-z0-9_-]{16,256}$/

/**
 * A new session id: 24 bytes (192 bits) from the CSPRNG as base64url, like express-session's
 * uid-safe default. OWASP asks for at least 64 bits, ASVS 5 for 128.
 */
export function generateId(): string {
  return randomBytes(24).toString('base64url')
}

/** Whether `id` has the shape of a session id. */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id)
}
