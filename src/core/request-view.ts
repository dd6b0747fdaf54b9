import type { IncomingMessage } from 'node:http'
import { SessionError } from '../errors.js'
import type { RequestSession } from './request-session.js'

/**
 * The request as a `handler()` of a session middleware that is not `req.session` sees it: the same
 * request, except that `session`, `sessionID` and `flash` are that middleware's. Everything else
 * (reads, writes, methods) goes to the real request, so what the handler sets (`req.user`) stays
 * on it for the middlewares after.
 */
export function requestView(req: IncomingMessage, owner: RequestSession): IncomingMessage {
  const view = new Proxy(req, {
    get(target, key) {
      if (key === 'session') return owner.current
      if (key === 'sessionID') return owner.current?.id
      if (key === 'flash') return owner.flash
      return Reflect.get(target, key, target)
    },
    set(target, key, value) {
      if (key === 'session') {
        if (value !== null && value !== undefined) {
          throw new SessionError(
            'ERR_SESSION_MISUSE',
            'typed-session: req.session can only be set to null (to drop the session)',
          )
        }
        owner.drop()
        return true
      }
      if (key === 'sessionID' || key === 'flash') {
        throw new SessionError('ERR_SESSION_MISUSE', `typed-session: req.${key} is read-only`)
      }
      return Reflect.set(target, key, value, target)
    },
  })
  views.set(view, req)
  return view
}

/** The real request behind a view (the request itself when it is not one). */
export function requestBehind(req: IncomingMessage): IncomingMessage {
  return views.get(req) ?? req
}

/** Views and their requests: another middleware's `of(view)` must find its session. */
const views = new WeakMap<IncomingMessage, IncomingMessage>()
