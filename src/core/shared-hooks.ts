import { IncomingMessage, ServerResponse } from 'node:http'
import { headersSent } from './set-cookie.js'

// Hooks defined once on a framework's shared request and response prototypes instead of on every
// request. Under Express every `req` and `res` gets a hidden class (V8 map) no other request shares,
// from Express's `Object.setPrototypeOf(req, app.request)` on: each property added to them after that
// builds yet another map and misses every inline cache that sees the object, tens of thousands of
// instructions per property per request (bench/PROFILE.md). So under Express the session adds one
// own property, `req.session` (it must stay one: `delete req.session` is express-session's `unset`),
// and reaches everything else through accessors and method hooks on Express's base `request` and
// `response` objects, which every app and mounted sub-app of that Express inherits. Per-request
// state is found in WeakMaps. A plain `node:http` server, whose objects share one map, keeps own
// properties (cheap there): `IncomingMessage.prototype` and `ServerResponse.prototype` are never
// touched, so no other server in the process sees a change.

/** What the request accessors read: the session a request exposes as `req.session`. */
export interface ExposedSession {
  /** `req.sessionID`. */
  readonly exposedId: string
  /** `req.sessionStore`. */
  readonly sessionStore: unknown
  /** `req.flash`, or `undefined` without flash schemas. */
  readonly exposedFlash: unknown
}

/** What the response hooks call: one request's session. */
export interface ResponseHandler {
  /** Whether the hooks act yet (the handler is running): before, calls pass straight through. */
  readonly active: boolean
  /** Whether the commit holds the response: it reads as sent and writes wait (`write`). */
  readonly holding: boolean
  write(original: ServerResponse['write'], res: ServerResponse, args: unknown[]): unknown
  writeHead(original: ServerResponse['writeHead'], res: ServerResponse, args: unknown[]): unknown
  end(original: ServerResponse['end'], res: ServerResponse, args: unknown[]): unknown
  /** The response emitted `close`. */
  closed(): void
}

const exposedSessions = new WeakMap<object, ExposedSession>()
const responseHandlers = new WeakMap<object, ResponseHandler>()

/** The request members the session provides, as accessors that read {@link exposedSessions}. */
const requestMembers: Record<'sessionID' | 'sessionStore' | 'flash', PropertyDescriptor> = {
  sessionID: accessor((session) => session.exposedId, 'sessionID'),
  sessionStore: accessor((session) => session.sessionStore, 'sessionStore'),
  flash: accessor((session) => session.exposedFlash, 'flash'),
}

function accessor(read: (session: ExposedSession) => unknown, key: string): PropertyDescriptor {
  return {
    configurable: true,
    enumerable: false,
    get(this: object): unknown {
      const session = exposedSessions.get(this)
      return session === undefined ? undefined : read(session)
    },
    // An assignment (connect-flash's `req.flash = ...`, a handler's own `req.sessionID`) makes an
    // own property, as it would without the accessor.
    set(this: object, value: unknown): void {
      Object.defineProperty(this, key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      })
    },
  }
}

function sharedWriteHead(this: ServerResponse, ...args: unknown[]): unknown {
  const handler = responseHandlers.get(this)
  const original = ServerResponse.prototype.writeHead
  if (handler === undefined || !handler.active) return Reflect.apply(original, this, args)
  return handler.writeHead(original, this, args)
}

function sharedEnd(this: ServerResponse, ...args: unknown[]): unknown {
  const handler = responseHandlers.get(this)
  const original = ServerResponse.prototype.end
  if (handler === undefined || !handler.active) return Reflect.apply(original, this, args)
  return handler.end(original, this, args)
}

function sharedWrite(this: ServerResponse, ...args: unknown[]): unknown {
  const handler = responseHandlers.get(this)
  const original = ServerResponse.prototype.write
  if (handler === undefined || !handler.holding) return Reflect.apply(original, this, args)
  return handler.write(original, this, args)
}

/** `res.headersSent`: true while a commit holds the response, as after a real end. */
const sharedHeadersSent: PropertyDescriptor = {
  configurable: true,
  enumerable: false,
  get(this: ServerResponse): boolean {
    return responseHandlers.get(this)?.holding === true || headersSent(this)
  },
}

function sharedEmit(this: ServerResponse, event: string | symbol, ...args: unknown[]): boolean {
  // Instead of one `close` listener per request (a closure, and a listener array on `res`).
  if (event === 'close') responseHandlers.get(this)?.closed()
  return ServerResponse.prototype.emit.call(this, event, ...args)
}

/** Shared prototypes checked so far: `true` when the hooks are on them. */
const checkedRequestBases = new WeakMap<object, boolean>()
const checkedResponseBases = new WeakMap<object, boolean>()

/**
 * Expose `session` on `req` through the shared accessors; false when `req` has no shared prototype
 * of its own (a plain `node:http` server) or something there already defines these members: the
 * caller then sets own properties.
 */
export function exposeShared(req: IncomingMessage, session: ExposedSession): boolean {
  const base = sharedBase(req, IncomingMessage.prototype)
  if (base === undefined) return false
  let hooked = checkedRequestBases.get(base)
  if (hooked === undefined) {
    hooked = !Object.keys(requestMembers).some((key) => Object.hasOwn(base, key))
    if (hooked) Object.defineProperties(base, requestMembers)
    checkedRequestBases.set(base, hooked)
  }
  if (!hooked) return false
  exposedSessions.set(req, session)
  return true
}

/**
 * Let the shared hooks handle `res` for `handler`; false when they cannot (a plain `node:http`
 * server, or a response whose `end`, `writeHead`, `write` or `emit` something else already wrapped, maybe
 * capturing the methods from before the hooks): the caller then wraps this response's own.
 */
export function handleShared(res: ServerResponse, handler: ResponseHandler): boolean {
  const base = sharedBase(res, ServerResponse.prototype)
  if (base === undefined) return false
  let hooked = checkedResponseBases.get(base)
  if (hooked === undefined) {
    hooked = !['end', 'writeHead', 'write', 'emit', 'headersSent'].some((key) =>
      Object.hasOwn(base, key),
    )
    if (hooked) {
      const method = { configurable: true, enumerable: false, writable: true }
      Object.defineProperties(base, {
        writeHead: { ...method, value: sharedWriteHead },
        end: { ...method, value: sharedEnd },
        write: { ...method, value: sharedWrite },
        emit: { ...method, value: sharedEmit },
        headersSent: sharedHeadersSent,
      })
    }
    checkedResponseBases.set(base, hooked)
  }
  if (
    !hooked ||
    res.end !== sharedEnd ||
    res.writeHead !== sharedWriteHead ||
    res.write !== sharedWrite ||
    res.emit !== sharedEmit ||
    responseHandlers.has(res)
  )
    return false
  responseHandlers.set(res, handler)
  return true
}

/**
 * The object directly above `root` in `object`'s prototype chain (Express's base `request` or
 * `response`), if it is a prototype and not `object` itself; undefined for a plain server's objects.
 */
function sharedBase(object: object, root: object): object | undefined {
  const direct = Object.getPrototypeOf(object) as object | null
  if (direct === null || direct === root) return undefined
  // Express: req -> app.request -> request -> IncomingMessage.prototype (a few levels at most).
  let candidate: object = direct
  for (let depth = 0; depth < 8; depth++) {
    const parent = Object.getPrototypeOf(candidate) as object | null
    if (parent === root) return candidate
    if (parent === null) return undefined
    candidate = parent
  }
  return undefined
}
