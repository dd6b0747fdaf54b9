import { type Changes, changesOf } from './changes.js'
import type { RequestState } from './request-state.js'
import { appendCookie, signedValue } from './set-cookie.js'
import { mustReturnFlash, returnTakenFlash } from './store-flash.js'
import { destroySession, touchSession, writeSession } from './write.js'

// The commit: at the end of the request, decide what reaches the store (a save, a touch, nothing)
// and which cookie goes out. The decisions are the three named predicates, as in express-session:
// `shouldSave`, `shouldTouch`, `shouldSetCookie`. The store writes themselves are in write.ts.

/**
 * Finish the session before the response is released; `undefined` when nothing is async (the
 * cookie is then decided), else the store work: the caller decides the cookie once it is done.
 */
export function commitSession(s: RequestState): Promise<void> | undefined {
  const unset = s.exposed ? s.req.session !== s.object : s.dropped
  if (unset && s.record !== 'destroyed') {
    // `delete req.session` / `req.session = null`: express-session's `unset` option.
    if (s.config.unset === 'destroy') return destroySession(s)
    return skipCommit(s)
  }
  if (s.record === 'destroyed' || (s.res.statusCode >= 500 && !s.config.saveOnServerError)) {
    return skipCommit(s)
  }
  const changes = changesOf(s)
  if (shouldSave(s, changes)) {
    // Done at once on the in-process store (no promise on the way); else the caller waits.
    const pending = writeSession(s, changes)
    if (pending !== undefined) return pending
  } else if (shouldTouch(s)) return touchSession(s)
  beforeHeaders(s)
  return undefined
}

/**
 * Nothing of this request is saved. Flash messages it took out of the store (issue 10) go back,
 * so a failed request consumes no message, as when the queue stays in the record.
 */
function skipCommit(s: RequestState): Promise<void> | undefined {
  if (s.takenFlash !== undefined && s.record === 'stored') return returnTakenFlash(s)
  beforeHeaders(s)
  return undefined
}

/**
 * Whether the session cookie may be set at all, judged at the end with the cookie as the handler
 * left it (`req.session.cookie.secure = true` counts): a Secure cookie on an insecure request would
 * be dropped by the browser, and a new session saved for nothing (express-session #281: orphan
 * records).
 */
export function cookieAllowed(s: RequestState): boolean {
  return !s.cookie.secure || s.secureRequest
}

/** Whether this request must write the session. */
export function shouldSave(s: RequestState, changes: Changes): boolean {
  if (s.record === 'stored') {
    // `resave` asks for one write per request: an explicit `save()` already was it.
    return (
      changes.any ||
      (s.config.resave && !s.saved) ||
      s.forced !== 'none' ||
      s.cookie.changed ||
      mustReturnFlash(s)
    )
  }
  if (!cookieAllowed(s)) return false
  return changes.any || s.forced !== 'none' || s.config.saveUninitialized || s.flash.changed
}

/**
 * Whether an unchanged session should extend its life in the store. Only when that moves a
 * deadline the user relies on: with `rolling` the browser gets a new expiry, a browser-session
 * cookie has no expiry but the store's, and `touch()` asks for it. Otherwise the cookie expires
 * when it expires and touching the store on every read would only cost a round trip.
 */
export function shouldTouch(s: RequestState): boolean {
  if (s.record !== 'stored' || s.config.store.touch === undefined) return false
  return s.config.rolling || s.touched || s.cookie.originalMaxAge === null
}

/** Whether the response carries the session cookie. */
export function shouldSetCookie(s: RequestState): boolean {
  if (s.record === 'destroyed' || !cookieAllowed(s)) return false
  if (s.id !== s.presentedId) return s.record === 'stored'
  return (
    s.config.rolling ||
    s.needsResign ||
    s.touched ||
    s.cookie.changed ||
    (s.savedChanges && s.cookie.expires !== null)
  )
}

/** Set the cookie header once, just before the headers go out. */
export function beforeHeaders(s: RequestState): void {
  if (s.cookieDecided) return
  s.cookieDecided = true
  if (!s.ending && s.record === 'new' && s.id !== s.presentedId) {
    // Headers flushed before the end (a streamed response): a new session that is already
    // changed will be saved at the end, so it gets its cookie now.
    let changes: Changes
    try {
      changes = changesOf(s)
    } catch {
      return // reported when the request ends and the save fails
    }
    if (cookieAllowed(s) && shouldSave(s, changes)) {
      appendCookie(s, s.cookie.serialize(s.config.name, signedValue(s)))
    }
    return
  }
  if (!shouldSetCookie(s)) return
  if (s.config.rolling && !s.saved) s.cookie.renew(Date.now(), s.deadline())
  appendCookie(s, s.cookie.serialize(s.config.name, signedValue(s)))
}
