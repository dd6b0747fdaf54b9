import type { ServerResponse } from 'node:http'
import { SessionError } from '../errors.js'
import { beforeHeaders, commitSession } from './commit.js'
import type { RequestState } from './request-state.js'
import { headersSent } from './set-cookie.js'
import { handleShared, type ResponseHandler } from './shared-hooks.js'

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

/**
 * The response hooks of one request: `writeHead` decides the cookie, the first `end` commits. Under
 * Express they are called from hooks shared by every response (shared-hooks.ts); elsewhere, and on
 * a response something else already wrapped, from wrappers on this response.
 */
export class ResponseHook implements ResponseHandler {
  readonly #s: RequestState
  /** Whether the handler runs: before it (a failed load's error page), calls pass through. */
  active = false
  /** The response as the app ended it, while the commit runs. */
  #held: HeldResponse | undefined

  constructor(s: RequestState) {
    this.#s = s
  }

  get holding(): boolean {
    return this.#held !== undefined
  }

  write(original: ServerResponse['write'], res: ServerResponse, args: unknown[]): unknown {
    this.#held?.later.push(() => Reflect.apply(original, res, args))
    return false
  }

  /**
   * Take the response before the session loads: the shared hooks when they can (true), else
   * nothing yet (see {@link wrap}). Early, so that a client closing during a slow load releases
   * the registry entry (`closed`).
   */
  attach(): boolean {
    return handleShared(this.#s.res, this)
  }

  /** Wrap this response's own `writeHead` and `end` (when `attach` could not). */
  wrap(): void {
    const res = this.#s.res
    const end = res.end
    const writeHead = res.writeHead
    const hook = this
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      return hook.writeHead(writeHead, this, args)
    } as ServerResponse['writeHead']
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      return hook.end(end, this, args)
    } as ServerResponse['end']
  }

  writeHead(original: ServerResponse['writeHead'], res: ServerResponse, args: unknown[]): unknown {
    if (this.#held !== undefined) {
      // After the app's end, while the commit runs: the head is "sent" as far as the app knows, so
      // this throws as Node's writeHead does after the headers went out.
      throw Object.assign(new Error('Cannot write headers after they are sent to the client'), {
        code: 'ERR_HTTP_HEADERS_SENT',
      })
    }
    beforeHeaders(this.#s)
    return Reflect.apply(original, res, args)
  }

  end(original: ServerResponse['end'], res: ServerResponse, args: unknown[]): unknown {
    const s = this.#s
    if (s.ending) {
      // A second end while the first waits for the store (`res.send('ok'); next()`): it must not
      // overtake the first. It runs after it, so Node reports it as it would without us.
      if (this.#held !== undefined) {
        this.#held.later.push(() => Reflect.apply(original, res, args))
        return res
      }
      return Reflect.apply(original, res, args)
    }
    s.ending = true
    let pending: Promise<void> | undefined
    try {
      pending = commitSession(s)
    } catch (err) {
      pending = Promise.reject(err)
    }
    if (pending === undefined) return Reflect.apply(original, res, args)
    const hold = holdResponse(res, s.sharedHooks)
    this.#held = hold
    pending.then(
      () => {
        this.#held = undefined
        hold.restore()
        beforeHeaders(s)
        Reflect.apply(original, res, args)
        // Node reports these to their callbacks and `error` listeners, as without the middleware.
        for (const call of hold.later) call()
      },
      (err: unknown) => {
        this.#held = undefined
        hold.restore()
        // The error handler answers instead; what the app wrote after its end has no body to join.
        commitFailed(s, err, () => Reflect.apply(original, res, args))
      },
    )
    return res
  }

  closed(): void {
    this.#s.release()
  }
}

/** The response as the app ended it, kept while the commit runs. */
interface HeldResponse {
  /** Calls the app made after its end, to run after the real one. */
  readonly later: Array<() => void>
  /** Put back the status and headers the app ended with, undoing anything written since. */
  restore(): void
}

/**
 * Hold the response the app ended: until the commit is done it reads as sent, writes are queued,
 * and status or header changes made meanwhile are undone, so the first answer is the one the
 * client gets, byte for byte. With the shared hooks (`shared`), `write` and `headersSent` already
 * answer so while {@link ResponseHook.holding}; otherwise they are overridden on `res` meanwhile.
 */
function holdResponse(res: ServerResponse, shared: boolean): HeldResponse {
  const later: Array<() => void> = []
  const sent = headersSent(res)
  const restoreOwn = shared ? undefined : overrideWhileHeld(res, later)
  const statusCode = res.statusCode
  const statusMessage = res.statusMessage
  const names = sent ? [] : rawHeaderNames(res)
  const values = names.map((name) => res.getHeader(name))
  return {
    later,
    restore(): void {
      restoreOwn?.()
      if (sent) return
      res.statusCode = statusCode
      res.statusMessage = statusMessage
      if (unchanged(res, names, values)) return
      for (const name of res.getHeaderNames()) res.removeHeader(name)
      for (let i = 0; i < names.length; i++) res.setHeader(names[i]!, values[i]!)
    },
  }
}

/**
 * Make `res.write` queue into `later` and `res.headersSent` read true, on `res` itself; returns
 * what puts them back. To the app the response is ended: Express's 404 handler after `next()` then
 * leaves it alone ("ignore 404 on in-flight response"), as it would without the middleware.
 */
function overrideWhileHeld(res: ServerResponse, later: Array<() => void>): () => void {
  const ownWrite = Object.getOwnPropertyDescriptor(res, 'write')
  const write = res.write
  res.write = function (this: ServerResponse, ...args: Parameters<ServerResponse['write']>) {
    later.push(() => write.apply(res, args))
    return false
  } as ServerResponse['write']
  const ownSent = Object.getOwnPropertyDescriptor(res, 'headersSent')
  Object.defineProperty(res, 'headersSent', { configurable: true, get: () => true })
  return () => {
    if (ownWrite === undefined) delete (res as { write?: unknown }).write
    else Object.defineProperty(res, 'write', ownWrite)
    if (ownSent === undefined) delete (res as { headersSent?: unknown }).headersSent
    else Object.defineProperty(res, 'headersSent', ownSent)
  }
}

/** Whether the headers are still exactly `names` with `values` (the same objects). */
function unchanged(
  res: ServerResponse,
  names: readonly string[],
  values: readonly (string | number | string[] | undefined)[],
): boolean {
  const now = rawHeaderNames(res)
  if (now.length !== names.length) return false
  for (let i = 0; i < names.length; i++) {
    if (now[i] !== names[i] || res.getHeader(names[i]!) !== values[i]) return false
  }
  return true
}

/** A store or validation failure at the end of the request: the error handler answers instead. */
function commitFailed(s: RequestState, err: unknown, release: () => void): void {
  // Only a store failure is a `store_error`; data errors (too large, invalid) report themselves.
  if (!(err instanceof SessionError) || err.code === 'ERR_SESSION_STORE')
    s.emit({ type: 'store_error', operation: 'commit', error: err })
  if (headersSent(s.res)) {
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

/** Header names with the case the app gave them (`getRawHeaderNames`, Node 15.13+, untyped). */
function rawHeaderNames(res: ServerResponse): string[] {
  return (res as unknown as { getRawHeaderNames(): string[] }).getRawHeaderNames()
}
