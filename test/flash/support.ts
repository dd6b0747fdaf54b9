import { sign } from 'cookie-signature'
import { MemoryStore, type SessionRecord, type SessionStore } from '../../src/index.js'
import type { CookieClient } from '../helpers/http.js'

/** The secret every flash / regenerate / passport test signs with. */
export const SECRET = 'a-test-secret-that-is-32-chars-long!'

/** A store id in the format typed-session accepts (16-256 of A-Z a-z 0-9 _ -). */
export function plantedId(label: string): string {
  return `planted_${label}_${'x'.repeat(16)}`
}

/** A method of the native store contract. */
type StoreOperation = 'get' | 'set' | 'destroy' | 'touch' | 'patch'

/**
 * The native store contract around a MemoryStore, answering every call `delayMs` later (through
 * the global `setTimeout`, so fake timers drive it). Models a slow network store such as Redis
 * across a region: the case where connect-flash loses messages (connect-flash #23).
 */
export class DelayingStore implements SessionStore {
  readonly inner = new MemoryStore({ checkPeriodMs: 0 })
  /** Every call as `operation:start` / `operation:done`, in order; tests add their own marks. */
  readonly log: string[] = []

  constructor(readonly delayMs: number) {}

  get(id: string): Promise<unknown> {
    return this.#slow('get', () => this.inner.get(id))
  }

  set(id: string, record: SessionRecord): Promise<void> {
    return this.#slow('set', () => this.inner.set(id, record))
  }

  destroy(id: string): Promise<void> {
    return this.#slow('destroy', () => this.inner.destroy(id))
  }

  touch(id: string, record: SessionRecord): Promise<void> {
    return this.#slow('touch', () => this.inner.touch(id, record))
  }

  patch(id: string, patch: Parameters<NonNullable<SessionStore['patch']>>[1]): Promise<boolean> {
    return this.#slow('patch', () => this.inner.patch(id, patch))
  }

  async #slow<T>(operation: StoreOperation, run: () => Promise<T>): Promise<T> {
    this.log.push(`${operation}:start`)
    await new Promise<void>((resolve) => setTimeout(resolve, this.delayMs))
    const result = await run()
    this.log.push(`${operation}:done`)
    return result
  }
}

/** The record stored under `id`, parsed (MemoryStore hands back JSON), or `undefined`. */
export async function storedRecord(
  store: MemoryStore,
  id: string,
): Promise<Record<string, unknown> | undefined> {
  const json = await store.get(id)
  return json === undefined ? undefined : (JSON.parse(json) as Record<string, unknown>)
}

/** Make `client` present the session cookie for `id`, signed as express-session signs it. */
export function presentId(client: CookieClient, id: string, name = 'sid'): void {
  client.cookies.set(name, encodeURIComponent(`s:${sign(id, SECRET)}`))
}

/** The session id inside a signed cookie value (`s:<id>.<mac>`, URL-encoded). */
export function idOfCookie(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const decoded = decodeURIComponent(value)
  return decoded.startsWith('s:') ? decoded.slice(2, decoded.lastIndexOf('.')) : undefined
}

/** A browser-session cookie object as express-session stores it. */
export const STORED_COOKIE = { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }
