import { debuglog } from 'node:util'
import { isSessionError } from '../errors.js'
import type { SessionStore } from '../stores/types.js'
import { hashId, type SessionEvent } from './events.js'

/**
 * Node's debug logger for `NODE_DEBUG=typed-session` (a list: `NODE_DEBUG=typed-session,http`).
 * It writes to stderr as `TYPED-SESSION <pid>: <line>`. Node reads NODE_DEBUG once, at startup.
 */
const log = debuglog('typed-session')

/** Longest text taken from an error or a validation issue, so one event stays one short line. */
const MAX_TEXT = 200

/**
 * Whether `NODE_DEBUG` names typed-session. Read once per `session()`: when off, nothing is wrapped
 * and nothing is hashed, so the request path costs exactly what it costs without this file.
 */
export function isDebugEnabled(): boolean {
  return log.enabled
}

/**
 * An `onEvent` that prints each event on one line, then calls the app's own `onEvent`. Store
 * failures are printed by {@link logStoreFailures} (with the operation and the hashed id), so a
 * `store_error` event for one of them is not printed twice.
 */
export function logEvents(
  onEvent: ((event: SessionEvent) => void) | undefined,
): (event: SessionEvent) => void {
  return (event) => {
    if (!(event.type === 'store_error' && isStoreFailure(event.error))) log(describeEvent(event))
    onEvent?.(event)
  }
}

/** Wrap `store` so that every failed call prints one line: operation, hashed id, error. */
export function logStoreFailures(store: SessionStore): SessionStore {
  const logged =
    (operation: string, id: string) =>
    (err: unknown): never => {
      log(`store ${operation} failed id=${hashId(id)}: ${errorText(err)}`)
      throw err
    }
  const wrapped: SessionStore = {
    get: (id) => store.get(id).catch(logged('get', id)),
    set: (id, record) => store.set(id, record).catch(logged('set', id)),
    destroy: (id) => store.destroy(id).catch(logged('destroy', id)),
  }
  const { touch, patch } = store
  if (touch !== undefined)
    wrapped.touch = (id, record) => touch.call(store, id, record).catch(logged('touch', id))
  if (patch !== undefined)
    wrapped.patch = (id, change) => patch.call(store, id, change).catch(logged('patch', id))
  // Anything else the store offers (the owner index, `ready`, `getSync`) is used as it is.
  return Object.assign(Object.create(store) as SessionStore, wrapped)
}

/** `event <type> key=value ...`: ids only as the event's salted hash, issues as `path: message`. */
function describeEvent(event: SessionEvent): string {
  const fields = Object.entries(event)
    .filter(([key]) => key !== 'type')
    .map(([key, value]) => `${key === 'idHash' ? 'id' : key}=${fieldText(key, value)}`)
  return [`event ${event.type}`, ...fields].join(' ')
}

function fieldText(key: string, value: unknown): string {
  if (key === 'error') return JSON.stringify(errorText(value))
  if (key === 'issues' && Array.isArray(value)) {
    const issues = value.map((issue: { path?: readonly unknown[]; message?: unknown }) => {
      const path = (issue.path ?? []).map((p) => (typeof p === 'object' ? '?' : String(p)))
      return `${path.join('.') || '(root)'}: ${String(issue.message)}`
    })
    return JSON.stringify(clip(issues.join('; ')))
  }
  return typeof value === 'string' ? value : clip(JSON.stringify(value) ?? String(value))
}

/** `CODE message` of an error, on one line. typed-session's store errors are already redacted. */
function errorText(err: unknown): string {
  if (typeof err !== 'object' || err === null) return clip(String(err))
  const { code, message } = err as { code?: unknown; message?: unknown }
  const text = typeof message === 'string' ? message : String(err)
  return clip(typeof code === 'string' ? `${code} ${text}` : text)
}

function clip(text: string): string {
  const line = text.replace(/\s*\n\s*/g, ' ')
  return line.length > MAX_TEXT ? `${line.slice(0, MAX_TEXT)}…` : line
}

function isStoreFailure(err: unknown): boolean {
  return isSessionError(err) && err.code === 'ERR_SESSION_STORE'
}
