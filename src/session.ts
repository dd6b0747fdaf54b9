import type { IncomingMessage, ServerResponse } from 'node:http'
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { resolveCookieSettings } from './cookie/settings.js'
import { CookieVerifier, type Secret } from './cookie/signature.js'
import type { SessionConfig } from './core/config.js'
import { isDebugEnabled, logEvents, logStoreFailures } from './core/debug.js'
import { unknownOptionNames } from './core/option-names.js'
import { redactStoreErrors } from './core/redact.js'
import { registryFor } from './core/registry.js'
import { RequestSession } from './core/request-session.js'
import { requestBehind, requestView } from './core/request-view.js'
import { PROTOTYPE_KEYS, RESERVED_KEYS } from './core/reserved-keys.js'
import type { TypedSession } from './core/session-type.js'
import { SessionError } from './errors.js'
import type { SessionOptions } from './options.js'
import { indexApi } from './owner/api.js'
import type { OwnerOptions, SessionIndexApi } from './owner/types.js'
import type { FlashFunction, SessionAccess, SessionMiddleware } from './register.js'
import type { CheckedSchema, FlashOption, FlashValues, SchemaOutput } from './schema/check.js'
import { extendSchema, resolveExtensions, type WithExtensions } from './schema/extension.js'
import { toSessionStore } from './stores/adapt.js'
import { MemoryStore } from './stores/memory.js'
import type { SessionStore } from './stores/types.js'

/** Default store timeout: long enough for a slow network store, short enough to free a worker. */
const DEFAULT_STORE_TIMEOUT_MS = 5_000
/** Default record size limit: far above any sane session, far below what hurts a store. */
const DEFAULT_MAX_SESSION_BYTES = 64 * 1024
/** ASVS 5 11.2.3 / iron-session: an HMAC key needs at least 256 bits. */
const MIN_SECRET_LENGTH = 32
/** Placeholders copied from tutorials; in production they are as good as no secret (CWE-798). */
const WELL_KNOWN_SECRETS = new Set([
  'keyboard cat',
  'secret',
  'changeme',
  'change-me',
  'your-secret-key',
  'complex_password_at_least_32_characters_long',
])

let warnedMemoryStore = false

/**
 * Create the session middleware: a connect-style `(req, res, next)` function for Express 5,
 * Express 4 or a bare `node:http` server.
 *
 * Every record loaded from the store is validated with `schema` before a handler sees it; a new
 * session is the schema's parse of `{}`. Register the result once to type `req.session` in every
 * handler.
 *
 * @throws `ERR_SESSION_OPTIONS` for bad options: an unknown option name (named with the closest
 * known one), no secret (or, in production, one shorter than 32
 * characters or a well-known placeholder), a cookie setting that contradicts its prefix or could
 * inject into the header, an invalid timeout. The schema itself is checked at compile time.
 * @example
 * ```ts
 * const appSession = session({
 *   schema: z.object({ views: z.number().int().default(0) }),
 *   secret: process.env.SESSION_SECRET!,
 *   cookie: { maxAge: 86_400_000 },
 * })
 * app.use(appSession)
 * declare module 'typed-session' { interface Register { session: typeof appSession } }
 * ```
 */
export function session<
  TSchema extends StandardSchemaV1,
  const TFlash extends FlashOption = {},
  TOwner extends string = never,
  TExtension extends string = never,
>(
  options: SessionOptions<CheckedSchema<TSchema, TFlash, TExtension>, TFlash, TExtension> &
    OwnerOptions<WithExtensions<SchemaOutput<TSchema>>, TOwner>,
): SessionMiddleware<WithExtensions<SchemaOutput<TSchema>>, FlashValues<TFlash>> &
  SessionAccess<WithExtensions<SchemaOutput<TSchema>>, FlashValues<TFlash>> &
  SessionIndexApi<TOwner> {
  // The schema and the owner functions were checked above; at runtime they see plain records.
  const config = resolveConfig(options as unknown as SessionOptions & LooseOwnerOptions)
  // This middleware's session per request: the key to `of(req)` and `handler()`, and what tells a
  // second mount of the same middleware (two routers) that the request already has it.
  const sessions = new WeakMap<IncomingMessage, RequestSession>()
  const middleware = (
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ): void => {
    if (sessions.has(requestBehind(req))) {
      next()
      return
    }
    // The first session middleware on a request is `req.session`; another one (an admin area
    // with its own cookie and store) runs beside it, reached through its own `of(req)`.
    const exposed = (req as { session?: unknown }).session === undefined
    const requestSession = new RequestSession(config, req, res, next, exposed)
    sessions.set(req, requestSession)
    requestSession.start()
  }
  const ready = (req: IncomingMessage): RequestSession => {
    const requestSession = sessions.get(requestBehind(req))
    if (requestSession?.current === undefined) {
      throw new SessionError(
        'ERR_SESSION_MISUSE',
        `typed-session: the session middleware "${config.name}" has not run for this request (mount it before this handler, on a path and cookie path that include it)`,
      )
    }
    return requestSession
  }
  const members: InstanceMembers = {
    store: config.store,
    of: (req) => ready(req).current as unknown as TypedSession<Record<string, unknown>>,
    flashOf: (req) => ready(req).flash as FlashFunction<Record<string, unknown>>,
    handler: (fn) => (req, res, next) => {
      let requestSession: RequestSession
      try {
        requestSession = ready(req)
      } catch (err) {
        next(err)
        return
      }
      const view = requestSession.exposed ? req : requestView(req, requestSession)
      try {
        // Express 5 would catch a rejected promise itself; Express 4 would not.
        const result = fn(view as never, res, next)
        if (result instanceof Promise) result.catch(next)
      } catch (err) {
        next(err)
      }
    },
  }
  return Object.assign(middleware, members, indexApi(config)) as unknown as SessionMiddleware<
    WithExtensions<SchemaOutput<TSchema>>,
    FlashValues<TFlash>
  > &
    SessionAccess<WithExtensions<SchemaOutput<TSchema>>, FlashValues<TFlash>> &
    SessionIndexApi<TOwner>
}

/** The members `session()` adds to the middleware function, as the runtime sees them. */
interface InstanceMembers {
  readonly store: SessionStore
  of(req: IncomingMessage): TypedSession<Record<string, unknown>>
  flashOf(req: IncomingMessage): FlashFunction<Record<string, unknown>>
  handler(
    fn: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => unknown,
  ): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void
}

function resolveConfig(options: SessionOptions & LooseOwnerOptions): SessionConfig {
  const fail = (message: string): never => {
    throw new SessionError('ERR_SESSION_OPTIONS', `typed-session: ${message}`)
  }
  if (typeof options !== 'object' || options === null) fail('session() needs an options object')
  const unknownNames = unknownOptionNames(options)
  if (unknownNames !== undefined) fail(unknownNames)
  const { schema } = options
  if (
    typeof schema !== 'object' ||
    schema === null ||
    typeof schema['~standard']?.validate !== 'function'
  ) {
    fail('schema must be a zod 4 schema or another Standard Schema')
  }
  const secrets = resolveSecrets(options.secret, fail)
  const name = options.name ?? 'sid'
  const cookieOption = options.cookie
  const cookieSettings =
    typeof cookieOption === 'function' ? undefined : resolveCookieSettings(name, cookieOption)
  const storeTimeout = options.storeTimeout ?? DEFAULT_STORE_TIMEOUT_MS
  // Checked by toSessionStore below, which every store goes through.
  const maxSessionBytes = options.maxSessionBytes ?? DEFAULT_MAX_SESSION_BYTES
  if (!Number.isInteger(maxSessionBytes) || maxSessionBytes <= 0)
    fail('maxSessionBytes must be a positive integer')
  const { absoluteTimeout } = options
  if (
    absoluteTimeout !== undefined &&
    (!Number.isFinite(absoluteTimeout) || absoluteTimeout <= 0)
  ) {
    fail('absoluteTimeout must be a positive number of milliseconds')
  }
  const maxAge = cookieSettings?.maxAge
  if (absoluteTimeout !== undefined && maxAge !== undefined && maxAge > absoluteTimeout) {
    fail('cookie.maxAge (idle timeout) cannot be longer than absoluteTimeout')
  }
  if (options.genid !== undefined && typeof options.genid !== 'function')
    fail('genid must be a function')
  const onInvalid = options.onInvalid ?? 'fresh'
  if (onInvalid !== 'fresh' && onInvalid !== 'error' && typeof onInvalid !== 'function') {
    fail("onInvalid must be 'fresh', 'error' or a function")
  }
  const unset = options.unset ?? 'keep'
  if (unset !== 'keep' && unset !== 'destroy') fail("unset must be 'keep' or 'destroy'")

  const userStore = options.store ?? new MemoryStore()
  if (
    options.store === undefined &&
    process.env.NODE_ENV === 'production' &&
    !options.allowMemoryStoreInProduction
  ) {
    if (!warnedMemoryStore) {
      warnedMemoryStore = true
      process.emitWarning(
        'typed-session: the in-process MemoryStore is in use with NODE_ENV=production: sessions are lost on restart and not shared between processes. Pass a store (connect-redis, connect-pg-simple, ...) or allowMemoryStoreInProduction: true.',
        { code: 'TYPED_SESSION_MEMORY_STORE' },
      )
    }
  }
  const adapted = toSessionStore(userStore, { timeoutMs: storeTimeout })
  // Store errors may name the key; the in-process MemoryStore's never do (and it is the hot path).
  const redacted = userStore instanceof MemoryStore ? adapted : redactStoreErrors(adapted)
  // NODE_DEBUG=typed-session: one stderr line per event and per failed store call. When it is off
  // nothing is wrapped, and without an onEvent no id is ever hashed.
  const debug = isDebugEnabled()
  const store = debug ? logStoreFailures(redacted) : redacted
  for (const key of ['owner', 'sessionLabel', 'ownerEpoch'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function')
      fail(`${key} must be a function`)
  }
  if (options.owner === undefined && options.ownerEpoch !== undefined)
    fail('ownerEpoch needs the owner option (whose epoch would it be?)')
  if (options.owner === undefined && options.sessionLabel !== undefined)
    fail('sessionLabel needs the owner option (only owned sessions are listed)')
  const flashSchemas = resolveFlash(options.flash, fail)
  checkShape(schema, flashSchemas, fail)
  const extensions = resolveExtensions(
    options.extensions,
    schema,
    Object.keys(flashSchemas ?? {}),
    fail,
  )
  return {
    // With plugins' fragments, one schema of both: every load and save checks the plugins' keys too.
    schema: extensions === undefined ? schema : extendSchema(schema, extensions),
    flashSchemas,
    secrets,
    verifier: new CookieVerifier(secrets),
    name,
    cookieOption,
    cookieSettings,
    store,
    userStore,
    registry: registryFor(userStore as object),
    genid: options.genid,
    proxy: options.proxy,
    resave: options.resave ?? false,
    rolling: options.rolling ?? false,
    saveUninitialized: options.saveUninitialized ?? false,
    unset,
    onInvalid,
    onEvent: debug ? logEvents(options.onEvent) : options.onEvent,
    absoluteTimeout,
    maxSessionBytes,
    saveOnServerError: options.saveOnServerError ?? false,
    owner: options.owner as SessionConfig['owner'],
    sessionLabel: options.sessionLabel as SessionConfig['sessionLabel'],
    ownerEpoch: options.ownerEpoch as SessionConfig['ownerEpoch'],
  }
}

/** The owner options as the runtime sees them: functions of plain records and strings. */
type LooseOwnerOptions = {
  readonly [TKey in keyof OwnerOptions<never, string>]?: unknown
}

function resolveSecrets(secret: unknown, fail: (message: string) => never): Secret[] {
  const list = typeof secret === 'string' || Buffer.isBuffer(secret) ? [secret] : secret
  if (!Array.isArray(list) || list.length === 0) {
    fail(
      `a secret is required (a string or Buffer, or a list: the first signs); got ${describeSecret(secret)}${UNSET_HINT}`,
    )
  }
  // The list itself is kept (not a copy), as express-session keeps it: rotating by changing the
  // array at run time takes effect at once, for signing and verifying.
  const secrets = list as unknown[]
  const production = process.env.NODE_ENV === 'production'
  const seen = new Set<string>()
  for (const [index, value] of secrets.entries()) {
    const isText = typeof value === 'string'
    if (!(isText || Buffer.isBuffer(value)) || value.length === 0) {
      // Say which one: with `[process.env.NEW, process.env.OLD]` only the position tells them apart.
      const which = list === secret ? `secret[${index}]` : 'the secret'
      fail(
        `${which} is ${describeSecret(value)}: every secret must be a non-empty string or Buffer${UNSET_HINT}`,
      )
    }
    // The HMAC key is the bytes: a string and a Buffer of its UTF-8 bytes are the same secret.
    const bytes = isText ? Buffer.from(value as string) : (value as Buffer)
    const key = bytes.toString('hex')
    if (seen.has(key)) fail('the secret list contains the same secret twice')
    seen.add(key)
    if (production && (isText ? (value as string).length : bytes.length) < MIN_SECRET_LENGTH) {
      fail(
        `in production every secret must be at least ${MIN_SECRET_LENGTH} characters or bytes (use 32 random bytes)`,
      )
    }
    if (production && isText && WELL_KNOWN_SECRETS.has(value as string))
      fail('the secret is a well-known placeholder; generate a random one')
  }
  return secrets as Secret[]
}

const UNSET_HINT = ' (an environment variable that is not set?)'

/** A secret's kind for an error message, never its value. */
function describeSecret(value: unknown): string {
  if (value === '') return 'an empty string'
  if (Buffer.isBuffer(value)) return 'an empty Buffer'
  if (Array.isArray(value)) return 'an empty list'
  return value === null ? 'null' : typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`
}

function resolveFlash(
  flash: FlashOption | undefined,
  fail: (message: string) => never,
): Readonly<Record<string, StandardSchemaV1>> | undefined {
  if (flash === undefined) return undefined
  const shape = isObjectSchema(flash) ? flash.shape : flash
  if (typeof shape !== 'object' || shape === null)
    fail('flash must map each message kind to a schema')
  const schemas: Record<string, StandardSchemaV1> = Object.create(null)
  for (const [kind, schema] of Object.entries(shape)) {
    if (typeof (schema as Partial<StandardSchemaV1>)?.['~standard']?.validate !== 'function') {
      fail(`flash kind "${kind}" needs a schema (zod or another Standard Schema)`)
    }
    schemas[kind] = schema as StandardSchemaV1
  }
  return schemas
}

/** Where the schema shows its keys (zod's `shape`), check them against members and flash kinds. */
function checkShape(
  schema: StandardSchemaV1,
  flashSchemas: Readonly<Record<string, StandardSchemaV1>> | undefined,
  fail: (message: string) => never,
): void {
  const shape = (schema as { shape?: unknown }).shape
  if (typeof shape !== 'object' || shape === null) return
  for (const key of RESERVED_KEYS) {
    if (Object.hasOwn(shape, key)) fail(`key '${key}': reserved for a session member, rename it`)
  }
  for (const key of PROTOTYPE_KEYS) {
    if (Object.hasOwn(shape, key))
      fail(`key '${key}': reserved (every object has it, or it reaches the prototype), rename it`)
  }
  for (const kind of Object.keys(flashSchemas ?? {})) {
    if (Object.hasOwn(shape, kind)) fail(`flash kind "${kind}" collides with a session data key`)
  }
}

function isObjectSchema(value: object): value is { shape: Record<string, StandardSchemaV1> } {
  return '~standard' in value && typeof (value as { shape?: unknown }).shape === 'object'
}
