import { withoutIds } from '../stores/adapt.js'
import type { SessionStore } from '../stores/types.js'

/** How deep a `cause` chain is followed (a cycle or a very long chain stops here). */
const MAX_CAUSE_DEPTH = 8

/**
 * Wrap `store` so that an error it reports never carries the session id it was called with. Store
 * errors can name the key (`sess:<id>`, PostgreSQL's `Key (sid)=(<id>) already exists`), and
 * typed-session keeps the store's error as `cause`: an app that logs the error would write a
 * replayable session id to its logs (OWASP session logging: never log the raw id; ASVS 5 16.2.5).
 *
 * @example
 * ```ts
 * const store = redactStoreErrors(toSessionStore(userStore, { timeoutMs }))
 * ```
 */
export function redactStoreErrors(store: SessionStore): SessionStore {
  const redacting: SessionStore = {
    get: (id) => store.get(id).catch(rethrowWithout(id)),
    set: (id, record) => store.set(id, record).catch(rethrowWithout(id)),
    destroy: (id) => store.destroy(id).catch(rethrowWithout(id)),
  }
  const { touch, patch } = store
  if (touch !== undefined)
    redacting.touch = (id, record) => touch.call(store, id, record).catch(rethrowWithout(id))
  if (patch !== undefined)
    redacting.patch = (id, change) => patch.call(store, id, change).catch(rethrowWithout(id))
  // Issue 10's create-if-absent and flash operations.
  const { create, takeFlash } = store
  if (create !== undefined)
    redacting.create = (id, record) => create.call(store, id, record).catch(rethrowWithout(id))
  if (takeFlash !== undefined)
    redacting.takeFlash = (id) => takeFlash.call(store, id).catch(rethrowWithout(id))
  // Index calls name an owner, not a session id: nothing replayable to redact.
  const { indexedIds, unindex } = store
  if (indexedIds !== undefined) redacting.indexedIds = (owner) => indexedIds.call(store, owner)
  if (unindex !== undefined) redacting.unindex = (owner, ids) => unindex.call(store, owner, ids)
  return redacting
}

/** A rejection handler that removes `id` from the error (and its causes), then rethrows it. */
function rethrowWithout(id: string): (err: unknown) => never {
  return (err) => {
    redactId(err, id)
    throw err
  }
}

/** Replace every occurrence of `id` in the message and stack of `err` and of its `cause` chain. */
function redactId(err: unknown, id: string): void {
  let current = err
  for (let depth = 0; depth < MAX_CAUSE_DEPTH; depth++) {
    if (typeof current !== 'object' || current === null) return
    const error = current as { message?: unknown; stack?: unknown; cause?: unknown }
    for (const key of ['message', 'stack'] as const) {
      const text = error[key]
      if (typeof text === 'string' && text.includes(id)) {
        try {
          error[key] = withoutIds(text, [id])
        } catch {
          // A frozen error cannot be changed; it is the store's own object, leave it.
        }
      }
    }
    current = error.cause
  }
}
