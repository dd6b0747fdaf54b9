import type { StandardSchemaV1 } from '@standard-schema/spec'

/** What a schema accepts (the shape a stored record must have). */
export type SchemaInput<TSchema extends StandardSchemaV1> = StandardSchemaV1.InferInput<TSchema>
/** What a schema produces (the type of the session data in handlers). */
export type SchemaOutput<TSchema extends StandardSchemaV1> = StandardSchemaV1.InferOutput<TSchema>

/**
 * Names that belong to the session object itself (members, the stored `cookie`, the flash slot)
 * and so cannot be schema keys.
 */
export type ReservedKey =
  | 'id'
  | 'cookie'
  | 'flash'
  | 'save'
  | 'reload'
  | 'regenerate'
  | 'destroy'
  | 'touch'
  | 'resetMaxAge'
  /** The stored owner slot of the session index (issue 12). */
  | '$session'

/** Marks a value that `JSON.stringify` cannot carry (functions, symbols, bigint). */
export interface NotJson {
  readonly 'typed-session: this value does not survive JSON': true
}

/**
 * The type a value has after `JSON.parse(JSON.stringify(value))`: what a store hands back.
 * `Date` becomes `string` (through `toJSON`), functions / symbols / bigint become {@link NotJson}.
 */
export type Jsonify<T> = T extends string | number | boolean | null | undefined
  ? T
  : T extends { toJSON(...args: never): infer TJson }
    ? Jsonify<TJson>
    : T extends bigint | symbol | ((...args: never) => unknown)
      ? NotJson
      : T extends object
        ? { [TKey in keyof T]: Jsonify<T[TKey]> }
        : T

/** A flash option: one schema per message kind, or a zod-like object schema whose `shape` is that. */
export type FlashOption = Readonly<Record<string, StandardSchemaV1>> | FlashObjectSchema

/** A zod-like object schema, whose `shape` holds one schema per key. */
export interface FlashObjectSchema extends StandardSchemaV1 {
  readonly shape: Readonly<Record<string, StandardSchemaV1>>
}

/** The schema per flash kind, whichever form the `flash` option took. */
export type FlashShape<TFlash> = TFlash extends FlashObjectSchema
  ? TFlash['shape']
  : TFlash extends Readonly<Record<string, StandardSchemaV1>>
    ? TFlash
    : {}

/**
 * The message type per flash kind. `-readonly`: a `const` flash option is inferred read-only,
 * which must not leak into the message records `req.flash()` hands out.
 */
export type FlashValues<TFlash> = {
  -readonly [TKind in keyof FlashShape<TFlash>]: FlashShape<TFlash>[TKind] extends StandardSchemaV1
    ? SchemaOutput<FlashShape<TFlash>[TKind]>
    : never
}

type IsObject<T> = [T] extends [object]
  ? [T] extends [readonly unknown[]]
    ? false
    : [T] extends [(...args: never) => unknown]
      ? false
      : true
  : false

type SurvivesJson<TSchema extends StandardSchemaV1> = [Jsonify<SchemaOutput<TSchema>>] extends [
  SchemaInput<TSchema>,
]
  ? true
  : false

type FlashProblem<TFlash> = {
  [TKind in keyof FlashShape<TFlash>]: FlashShape<TFlash>[TKind] extends StandardSchemaV1
    ? SurvivesJson<FlashShape<TFlash>[TKind]> extends true
      ? never
      : `typed-session: flash kind "${TKind & string}" does not survive a JSON round trip`
    : never
}[keyof FlashShape<TFlash>]

/**
 * Every reason a schema (and flash option) cannot back a session, as a union of messages; `never`
 * when there is none.
 */
export type SchemaProblem<TSchema extends StandardSchemaV1, TFlash> =
  | (IsObject<SchemaOutput<TSchema>> extends true
      ? never
      : 'typed-session: the schema must describe an object (use z.object({ ... }))')
  | ({} extends SchemaInput<TSchema>
      ? never
      : 'typed-session: a new session must be buildable from {}: give every required key a .default() or make it .optional()')
  | (Extract<keyof SchemaOutput<TSchema>, ReservedKey> extends never
      ? never
      : `typed-session: "${Extract<keyof SchemaOutput<TSchema>, ReservedKey> & string}" is a session member name and cannot be a schema key`)
  | (SurvivesJson<TSchema> extends true
      ? never
      : 'typed-session: the schema output does not survive a JSON round trip (a Date comes back as a string): accept what comes back, e.g. z.coerce.date()')
  | (Extract<keyof FlashShape<TFlash>, keyof SchemaOutput<TSchema>> extends never
      ? never
      : `typed-session: flash kind "${Extract<keyof FlashShape<TFlash>, keyof SchemaOutput<TSchema>> & string}" collides with a session data key`)
  | FlashProblem<TFlash>

/**
 * `unknown` when the schema is fine; otherwise an object type whose property names are the
 * problems, so the compiler prints them at the `schema:` line of `session({ ... })`.
 */
export type SchemaCheck<TSchema extends StandardSchemaV1, TFlash> = [
  SchemaProblem<TSchema, TFlash>,
] extends [never]
  ? unknown
  : { [TProblem in SchemaProblem<TSchema, TFlash>]: TProblem }
