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
 * here.
 */
const VERIFIED_CACHE_SIZE = 10_000

/**
 * How many bytes the remembered values may take in all (counted as two bytes a character plus a
 * fixed overhead per entry): about 300 bytes per default cookie, so the entry bound is the one
 * reached first for default ids, and long `genid` ids cannot grow the cache past this.
 */
const VERIFIED_CACHE_BYTES = 4 * 1024 * 1024
const ENTRY_OVERHEAD_BYTES = 96

/** A secret as express-session accepts it: a string or bytes (anything `createHmac` takes). */
export type Secret = string | Buffer

/** A verified cookie: the session id, and which secret verified it (0 = the current one). */
export interface VerifiedId {
  readonly id: string
  readonly secretIndex: number
}

/** A remembered verification: which secret verified the value, and what it costs the cache. */
interface Remembered {
  readonly id: string
  readonly secret: Secret
  readonly bytes: number
}

/**
 * Sign a session id with the current secret, in express-session's format, so cookies stay valid
 * when an app switches between the two.
 */
export function signId(id: string, secret: Secret): string {
  return SIGNED_PREFIX + sign(id, secret)
}

/**
 * Verifies session cookie values against a list of secrets (newest first), remembering the
 * values that verified. Only a value whose HMAC checked out is ever remembered, so a cache hit is
 * the very string that was verified before: it forges nothing. Unsigned, tampered or foreign
 * values are never cached (an attacker cannot fill the cache) and verify to `null`.
 *
 * The list is read on every call, so a secret removed from it at run time (rotation done by
 * changing the array) stops verifying at once, remembered values included.
 */
export class CookieVerifier {
  readonly #secrets: readonly Secret[]
  readonly #verified = new Map<string, Remembered>()
  #bytes = 0

  constructor(secrets: readonly Secret[]) {
    this.#secrets = secrets
  }

  /** The id a cookie value carries, or `null`: the caller starts a fresh session, never adopts it. */
  verify(value: string): VerifiedId | null {
    const secrets = this.#secrets
    const cached = this.#verified.get(value)
    if (cached !== undefined) {
      const secretIndex = secrets.indexOf(cached.secret)
      if (secretIndex !== -1) return { id: cached.id, secretIndex }
      // Its secret was removed from the list: forget it and check the value again.
      this.#forget(value, cached)
    }
    if (value.length > MAX_COOKIE_VALUE_LENGTH || !value.startsWith(SIGNED_PREFIX)) return null
    const signed = value.slice(SIGNED_PREFIX.length)
    for (let secretIndex = 0; secretIndex < secrets.length; secretIndex++) {
      // cookie-signature compares in constant time (timing attacks on the signature) and throws
      // on an array of secrets, so rotation loops here.
      const secret = secrets[secretIndex]!
      const id = unsign(signed, secret)
      if (id !== false) return this.#remember(value, copyOf(id), secret, secretIndex)
    }
    return null
  }

  /** Bytes the remembered values take now (for tests and health checks). */
  get cachedBytes(): number {
    return this.#bytes
  }

  #remember(value: string, id: string, secret: Secret, secretIndex: number): VerifiedId {
    const cache = this.#verified
    const bytes = 2 * (value.length + id.length) + ENTRY_OVERHEAD_BYTES
    while (
      cache.size > 0 &&
      (cache.size >= VERIFIED_CACHE_SIZE || this.#bytes + bytes > VERIFIED_CACHE_BYTES)
    ) {
      const [oldest, entry] = cache.entries().next().value!
      this.#forget(oldest, entry)
    }
    // A copy, never the parser's string: a cookie value sliced out of the request's Cookie header
    // keeps that whole header (up to 16 KB) alive for as long as the cache holds it.
    cache.set(copyOf(value), { id, secret, bytes })
    this.#bytes += bytes
    return { id, secretIndex }
  }

  #forget(value: string, entry: Remembered): void {
    this.#verified.delete(value)
    this.#bytes -= entry.bytes
  }
}

/**
 * A string with its own storage. V8 represents `header.slice(a, b)` as a view into `header`;
 * encoding and decoding makes a flat string that holds only its own characters.
 */
function copyOf(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8')
}
