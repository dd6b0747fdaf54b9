import { sign, unsign } from 'cookie-signature'

/** The prefix express-session puts before a signed value (`s:` + id + `.` + signature). */
const SIGNED_PREFIX = 's:'

/**
 * Longest cookie value worth an HMAC: browsers keep at most 4096 bytes per cookie (RFC 6265
 * 6.1), so anything longer was not set by us and is refused before any work is done on it.
 */
const MAX_COOKIE_VALUE_LENGTH = 4096

/**
 * How many verified cookie values a middleware remembers. An HMAC costs more than the rest of a
 * read-only request's session work; the values of active visitors are verified once, then found
 * here. About 150 bytes each.
 */
const VERIFIED_CACHE_SIZE = 10_000

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
 * Verifies session cookie values against a list of secrets (newest first), remembering the
 * values that verified. Only a value whose HMAC checked out is ever remembered, so a cache hit is
 * the very string that was verified before: it forges nothing. Unsigned, tampered or foreign
 * values are never cached (an attacker cannot fill the cache) and verify to `null`.
 */
export class CookieVerifier {
  readonly #secrets: readonly string[]
  readonly #verified = new Map<string, VerifiedId>()

  constructor(secrets: readonly string[]) {
    this.#secrets = secrets
  }

  /** The id a cookie value carries, or `null`: the caller starts a fresh session, never adopts it. */
  verify(value: string): VerifiedId | null {
    const cached = this.#verified.get(value)
    if (cached !== undefined) return cached
    if (value.length > MAX_COOKIE_VALUE_LENGTH || !value.startsWith(SIGNED_PREFIX)) return null
    const signed = value.slice(SIGNED_PREFIX.length)
    const secrets = this.#secrets
    for (let secretIndex = 0; secretIndex < secrets.length; secretIndex++) {
      // cookie-signature compares in constant time (timing attacks on the signature) and throws
      // on an array of secrets, so rotation loops here.
      const id = unsign(signed, secrets[secretIndex]!)
      if (id !== false) return this.#remember(value, { id, secretIndex })
    }
    return null
  }

  #remember(value: string, verified: VerifiedId): VerifiedId {
    const cache = this.#verified
    if (cache.size >= VERIFIED_CACHE_SIZE) cache.delete(cache.keys().next().value!)
    cache.set(value, verified)
    return verified
  }
}
