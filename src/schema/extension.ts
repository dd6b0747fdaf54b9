import type { StandardSchemaV1 } from '@standard-schema/spec'
import { PROTOTYPE_KEYS, RESERVED_KEYS } from '../core/reserved-keys.js'
import { SessionError } from '../errors.js'
import type { ExtensionProblem } from './check.js'

// Session keys added by third-party packages (a Passport-like plugin), by declaration merging:
// the plugin declares the type of its keys in `SessionExtensions` and ships a schema fragment
// for them (`sessionExtension()`); every `session()` takes the fragments in its `extensions`
// option, and each stored record is validated against the app's schema and every fragment.

/**
 * The session keys that packages add to every app's session, filled by declaration merging (the
 * way Passport adds `passport` to express-session's `SessionData`). A plugin declares each key
 * with the type handlers see, and exports the {@link sessionExtension} that validates it:
 *
 * ```ts
 * declare module 'typed-session' {
 *   interface SessionExtensions {
 *     visits?: { count: number; last?: string }
 *   }
 * }
 * export const visitsExtension = sessionExtension({
 *   visits: z.object({ count: z.number().int(), last: z.string().optional() }).optional(),
 * })
 * ```
 *
 * Every `req.session` (registered or per instance) then has these keys, and every `session()`
 * call must pass the fragment (`extensions: [visitsExtension]`): the compiler names a missing one.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by plugins through declaration merging
export interface SessionExtensions {}

/** The keys declared in {@link SessionExtensions}. */
export type ExtensionKey = keyof SessionExtensions & string

/**
 * `TData` with the keys of {@link SessionExtensions}: the data type of every session. `TData` itself
 * while no package declares a key, so that an app without plugins sees exactly its schema's type.
 */
export type WithExtensions<TData> = [ExtensionKey] extends [never]
  ? TData
  : TData & SessionExtensions

/** One schema per key: what a plugin's fragment validates. */
export type ExtensionShape = Readonly<Record<string, StandardSchemaV1>>

/**
 * A plugin's schema fragment, made by {@link sessionExtension}: the schemas of the keys `TKey` it
 * declared in {@link SessionExtensions}. Pass it to `session({ extensions: [...] })`.
 */
export interface SessionExtension<TKey extends string = string> {
  /** The schema of each key (read by `session()`; plain data, so two copies of the package agree). */
  readonly '~sessionExtension': { readonly schemas: { readonly [TName in TKey]: StandardSchemaV1 } }
}

/**
 * The shape a fragment must have: the shape itself when each key is declared in
 * {@link SessionExtensions} with the schema's type, is not reserved, can be left out of a new
 * session, and survives the store's JSON; otherwise the message naming each key and the fix.
 */
export type CheckedExtension<TShape extends ExtensionShape> = [ExtensionProblem<TShape>] extends [
  never,
]
  ? TShape
  : ExtensionProblem<TShape>

/**
 * Make a plugin's schema fragment: one schema (zod or any Standard Schema) per key the plugin
 * declared in {@link SessionExtensions}. The compiler checks each schema against the declared type
 * (its output must be assignable to it, and the declared type to its input), that it accepts
 * `undefined` (a new session starts without the key: `.optional()` or `.default()`), and that it
 * survives a JSON round trip, as it does for an app's schema.
 *
 * Stored records are validated against the fragment as against the app's schema (an invalid value
 * follows the app's `onInvalid`, with issue paths starting at the key); data is validated with it
 * before every save.
 *
 * @throws `ERR_SESSION_OPTIONS` when a key has no schema or is a reserved name.
 * @example
 * ```ts
 * declare module 'typed-session' {
 *   interface SessionExtensions { visits?: { count: number } }
 * }
 * export const visitsExtension = sessionExtension({
 *   visits: z.object({ count: z.number().int() }).optional(),
 * })
 * ```
 */
export function sessionExtension<const TShape extends ExtensionShape>(
  schemas: CheckedExtension<TShape>,
): SessionExtension<keyof TShape & string> {
  const fail = (message: string): never => {
    throw new SessionError('ERR_SESSION_OPTIONS', `typed-session: sessionExtension(): ${message}`)
  }
  if (typeof schemas !== 'object' || schemas === null) fail('pass one schema per key, as an object')
  const copy: Record<string, StandardSchemaV1> = Object.create(null)
  for (const [key, schema] of Object.entries(schemas as ExtensionShape)) {
    checkExtensionKey(key, fail)
    if (typeof (schema as Partial<StandardSchemaV1>)?.['~standard']?.validate !== 'function')
      fail(`key '${key}' needs a schema (zod or another Standard Schema)`)
    copy[key] = schema
  }
  if (Object.keys(copy).length === 0) fail('pass at least one key')
  return Object.freeze({
    '~sessionExtension': Object.freeze({ schemas: Object.freeze(copy) }),
  }) as SessionExtension<keyof TShape & string>
}

/** The keys and schemas of every fragment passed to one `session()`, checked. */
export type ExtensionSchemas = ReadonlyMap<string, StandardSchemaV1>

/**
 * Read `session()`'s `extensions` option: a list of {@link sessionExtension} fragments, no key
 * twice, none that the app's schema (where it shows its keys) or a flash kind also has.
 * @throws through `fail` (`ERR_SESSION_OPTIONS`)
 */
export function resolveExtensions(
  extensions: unknown,
  schema: StandardSchemaV1,
  flashKinds: readonly string[],
  fail: (message: string) => never,
): ExtensionSchemas | undefined {
  if (extensions === undefined) return undefined
  if (!Array.isArray(extensions))
    fail('extensions must be a list of sessionExtension() fragments (from the plugins you use)')
  const shape = (schema as { shape?: unknown }).shape
  const appKeys = typeof shape === 'object' && shape !== null ? shape : {}
  const schemas = new Map<string, StandardSchemaV1>()
  for (const [index, extension] of (extensions as unknown[]).entries()) {
    const fragment = (extension as Partial<SessionExtension> | null)?.['~sessionExtension']
    if (typeof fragment?.schemas !== 'object' || fragment.schemas === null)
      fail(`extensions[${index}] is not a sessionExtension() fragment`)
    for (const [key, keySchema] of Object.entries(fragment.schemas)) {
      checkExtensionKey(key, fail)
      if (schemas.has(key)) fail(`key '${key}' is in two extensions`)
      if (Object.hasOwn(appKeys, key))
        fail(
          `key '${key}' is in the schema and in an extension (a plugin's key): remove it from the schema`,
        )
      if (flashKinds.includes(key))
        fail(`flash kind "${key}" collides with a key of an extension (a plugin's key)`)
      schemas.set(key, keySchema)
    }
  }
  return schemas.size === 0 ? undefined : schemas
}

/**
 * The app's schema and the fragments as one Standard Schema, which is what the session validates
 * every loaded record and every save with. The app's schema sees the record without the fragments'
 * keys (a strict schema would refuse them, a loose one would let them through unvalidated); each
 * fragment sees its key's value (`undefined` when absent: a new session) and its issues get the
 * key as the first path segment. A key whose value comes out `undefined` is left out.
 */
export function extendSchema(
  schema: StandardSchemaV1,
  extensions: ExtensionSchemas,
): StandardSchemaV1 {
  const validate = (
    value: unknown,
  ): StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return schema['~standard'].validate(value)
    const rest: Record<string, unknown> = {}
    // defineProperty: a parsed own `__proto__` key stays a key the app's schema sees, as without
    // extensions, instead of becoming this object's prototype.
    for (const [key, item] of Object.entries(value)) {
      if (!extensions.has(key))
        Object.defineProperty(rest, key, {
          value: item,
          enumerable: true,
          writable: true,
          configurable: true,
        })
    }
    const parts: (StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>)[] =
      [schema['~standard'].validate(rest)]
    for (const [key, keySchema] of extensions)
      parts.push(keySchema['~standard'].validate((value as Record<string, unknown>)[key]))
    return parts.some((part) => part instanceof Promise)
      ? Promise.all(parts).then(combine)
      : combine(parts as StandardSchemaV1.Result<unknown>[])
  }
  const keys = [...extensions.keys()]
  const combine = (
    results: StandardSchemaV1.Result<unknown>[],
  ): StandardSchemaV1.Result<unknown> => {
    const issues: StandardSchemaV1.Issue[] = [...(results[0]?.issues ?? [])]
    for (const [index, key] of keys.entries()) {
      for (const issue of results[index + 1]?.issues ?? [])
        issues.push({ message: issue.message, path: [key, ...(issue.path ?? [])] })
    }
    if (issues.length > 0) return { issues }
    const data = (results[0] as StandardSchemaV1.SuccessResult<unknown>).value
    if (typeof data !== 'object' || data === null) return { value: data }
    // A fresh object: the app's schema output may be frozen or shared.
    const merged: Record<string, unknown> = { ...data }
    for (const [index, key] of keys.entries()) {
      const keyValue = (results[index + 1] as StandardSchemaV1.SuccessResult<unknown>).value
      if (keyValue !== undefined) merged[key] = keyValue
    }
    return { value: merged }
  }
  return { '~standard': { version: 1, vendor: 'typed-session', validate } }
}

/** Reserved names are refused for plugins too: they would shadow a member or reach a prototype. */
function checkExtensionKey(key: string, fail: (message: string) => never): void {
  if (RESERVED_KEYS.includes(key)) fail(`key '${key}': reserved for a session member, rename it`)
  if (PROTOTYPE_KEYS.includes(key))
    fail(`key '${key}': reserved (every object has it, or it reaches the prototype), rename it`)
}
