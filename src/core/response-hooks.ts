import type { ServerResponse } from 'node:http'
import { SessionError } from '../errors.js'
import { beforeHeaders, commitSession } from './commit.js'
import type { RequestState } from './request-state.js'

// The response hooks: `writeHead` decides the cookie just before the headers go out, and the first
// `res.end` commits the session before the response is released, so a client that receives the
// response can rely on the session being saved (no lost write behind a fast next request).

/** Headers that describe a response body, dropped when a failed commit replaces that body. */
const REPRESENTATION_HEADERS = [
  'content-length',
  'content-type',
  'content-encoding',
  'content-range',
  'content-language',
  'etag',
  'last-modified',
]

type EndArgs = Parameters<ServerResponse['end']>
type WriteHeadArgs = Parameters<ServerResponse['writeHead']>

/** Wrap `res.writeHead` and `res.end` of this request. */
export function hookResponse(s: RequestState): void {
  const res = s.res
  const end = res.end
  const writeHead = res.writeHead
  res.writeHead = function (this: ServerResponse, ...args: WriteHeadArgs) {
    beforeHeaders(s)
    return writeHead.apply(this, args)
  } as ServerResponse['writeHead']
  res.end = function (this: ServerResponse, ...args: EndArgs) {
    if (s.ending) return end.apply(this, args)
    s.ending = true
    let pending: Promise<void> | undefined
    try {
      pending = commitSession(s)
    } catch (err) {
      pending = Promise.reject(err)
    }
    if (pending === undefined) return end.apply(this, args)
    pending.then(
      () => end.apply(res, args),
      (err: unknown) => commitFailed(s, err, () => end.apply(res, args)),
    )
    return res
  } as ServerResponse['end']
}

/** A store or validation failure at the end of the request: the error handler answers instead. */
function commitFailed(s: RequestState, err: unknown, release: () => void): void {
  // Only a store failure is a `store_error`; data errors (too large, invalid) report themselves.
  if (!(err instanceof SessionError) || err.code === 'ERR_SESSION_STORE')
    s.emit({ type: 'store_error', operation: 'commit', error: err })
  if (s.res.headersSent) {
    // Too late to change the answer (a streamed response): end it; the event reported the loss.
    release()
    return
  }
  s.cookieDecided = true
  // The handler's body was never sent: its representation headers describe that body, not the
  // error page. A stale Content-Length desynchronises a keep-alive connection (the client reads
  // the next response as the rest of this one: response splitting).
  for (const name of REPRESENTATION_HEADERS) s.res.removeHeader(name)
  s.next(err)
}
