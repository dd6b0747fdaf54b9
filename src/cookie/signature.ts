import { sign, unsign } from 'cookie-signature'

/** The prefix express-session puts before a signed value (`s:` + id + `.` + signature). */
const SIGNED_PREFIX = 's:'

/** A verified cookie: the session id, and which secret verified it (0 = the current one). */
export interface VerifiedId {
  readonly id: string
  readonly secretIndex: number
}

/**
 * Sign a session id with the current secret, in express-session's format, so cookies stay valid
 * when an app switches between the two.
 */
export function signId(id: string, secret: string): string {
  return SIGNED_PREFIX + sign(id, secret)
}

/**
 * Verify a cookie value against every secret, newest first. Returns `null` for an unsigned,
 * tampered, or foreign value: the caller starts a fresh session and never adopts the value.
 * cookie-signature compares in constant time (timing attacks on the signature).
 */
export function verifyId(value: string, secrets: readonly string[]): VerifiedId | null {
  if (!value.startsWith(SIGNED_PREFIX)) return null
  const signed = value.slice(SIGNED_PREFIX.length)
  for (let secretIndex = 0; secretIndex < secrets.length; secretIndex++) {
    // cookie-signature throws on an array of secrets, so rotation loops here.
    const id = unsign(signed, secrets[secretIndex]!)
    if (id !== false) return { id, secretIndex }
  }
  return null
}
