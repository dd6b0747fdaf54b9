import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { ExtensionKey, SessionExtensions } from './extension.js'

/** What a schema accepts (the shape a stored record must have). */
export type SchemaInput<TSchema extends StandardSchemaV1> = StandardSchemaV1.InferInput<TSchema>
/** What a schema produces (the type of the session data in handlers). */
export type SchemaOutput<TSchema extends StandardSchemaV1> = StandardSchemaV1.InferOutput<TSchema>

/** Names of the session object's own members and slots (the stored `cookie`, the flash queue). */
export type MemberKey =
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

/**
 * Names every object already has (`Object.prototype`), or that reach a prototype when assigned:
 * the runtime never copies them onto `req.session` (prototype pollution), so they cannot be typed
 * data keys either.
 */
export type PrototypeKey =
  | '__proto__'
  | 'prototype'
  | 'constructor'
  | 'toString'
  | 'toLocaleString'
  | 'valueOf'
  | 'hasOwnProperty'
  | 'isPrototypeOf'
  | 'propertyIsEnumerable'

/** Names that cannot be schema keys (or flash kinds that collide with them). */
export type ReservedKey = MemberKey | PrototypeKey

/** Marks a value that `JSON.stringify` cannot carry (functions, symbols, bigint). */
export interface NotJson {
  readonly 'typed-session: this value does not survive JSON': true
}

/** A JSON value: what `JSON.parse` can return (and so what survives a store unchanged). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined }

/**
 * How deep {@link Jsonify} and the per-key checks look into a value. Recursive types (a tree, zod's
 * `z.json()`) have no bottom: past this depth a value is taken as it is instead of recursing until
 * the compiler gives up (TS2589). Eight levels cover every session shape seen in practice.
 */
type MaxDepth = 8

/**
 * The type a value has after `JSON.parse(JSON.stringify(value))`: what a store hands back.
 * `Date` becomes `string` (through `toJSON`), functions / symbols / bigint become {@link NotJson};
 * a value that is JSON already (including recursive JSON types) is returned as it is.
 */
export type Jsonify<T, TDepth extends unknown[] = []> = T extends
  | string
  | number
  | boolean
  | null
  | undefined
  ? T
  : TDepth['length'] extends MaxDepth
    ? T
    : T extends { toJSON(...args: never): infer TJson }
      ? Jsonify<TJson, [...TDepth, unknown]>
      : T extends bigint | symbol | ((...args: never) => unknown)
        ? NotJson
        : T extends JsonValue
          ? T
          : T extends object
            ? { [TKey in keyof T]: Jsonify<T[TKey], [...TDepth, unknown]> }
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

/**
 * The schema problems as one message, or `never` when the schema can back a session. Problems are
 * grouped by kind, each kind printed once with every key it concerns and the fix, so that one
 * literal (which the compiler prints in full up to about 300 characters) says everything:
 *
 * ```text
 * Type 'ZodObject<...>' is not assignable to type '"typed-session: key 'name': required, but a new
 * session starts from {}, give it a .default() or make it .optional(); keys 'seenAt', 'log': a Date
 * comes back from the store as a string, use z.coerce.date()"'.
 * ```
 */
export type SchemaProblem<
  TSchema extends StandardSchemaV1,
  TFlash,
  TExtension extends string = never,
> =
  IsFine<SchemaInput<TSchema>, SchemaOutput<TSchema>, TFlash, TExtension> extends true
    ? never
    : SchemaProblems<TSchema, TFlash, TExtension>

/**
 * The problems, key by key. Only computed when {@link IsFine} says there is one: finding which key
 * it is and printing it is what costs (each key checked for each fault, each fault grouped).
 */
type SchemaProblems<TSchema extends StandardSchemaV1, TFlash, TExtension extends string> =
  IsObject<SchemaOutput<TSchema>> extends true
    ? Message<
        [
          ...DataProblems<TSchema, SchemaInput<TSchema>, SchemaOutput<TSchema>>,
          ...ExtensionUseProblems<keyof SchemaOutput<TSchema>, TExtension>,
          ...FlashProblems<TFlash, keyof SchemaOutput<TSchema> | ExtensionKey>,
        ]
      >
    : 'typed-session: the schema must describe an object, use z.object({ ... })'

/**
 * The type the `schema` option must have: the schema itself when it can back a session, otherwise
 * the {@link SchemaProblem} message, which no schema is assignable to. `TExtension`: the keys of
 * the fragments passed in `extensions`.
 */
export type CheckedSchema<
  TSchema extends StandardSchemaV1,
  TFlash,
  TExtension extends string = never,
> = [SchemaProblem<TSchema, TFlash, TExtension>] extends [never]
  ? TSchema
  : SchemaProblem<TSchema, TFlash, TExtension>

/**
 * The problems of a plugin's fragment ({@link sessionExtension}) as one message, or `never`: each
 * key must be declared in `SessionExtensions` with the schema's type, not be reserved, accept
 * `undefined` (a new session starts without it) and survive the store's JSON.
 */
export type ExtensionProblem<TShape> = Message<
  ExtensionFaults<TShape> extends infer TFaults
    ? [TFaults[keyof TFaults]] extends [never]
      ? [FragmentPassportProblem<TShape>]
      : [
          ...ReservedGroups<'key', TFaults>,
          Group<
            'key',
            KeysWith<TFaults, 'undeclared'>,
            "not declared in SessionExtensions, declare its type: declare module 'typed-session' { interface SessionExtensions { ... } }"
          >,
          Group<
            'key',
            KeysWith<TFaults, 'type'>,
            'the schema does not match the type declared in SessionExtensions (its output must be assignable to that type, and that type to its input)'
          >,
          Group<
            'key',
            KeysWith<TFaults, 'required'>,
            'required, but a new session starts without it, give it a .default() or make it .optional()'
          >,
          ...JsonGroups<'key', TFaults>,
          FragmentPassportProblem<TShape>,
        ]
    : []
>

// ---- the checks ---------------------------------------------------------------------------------

/**
 * `true` when the schema has none of the problems {@link SchemaProblems} looks for, checked on
 * the whole schema at once: a new session can be built from `{}` (every member of a union input
 * accepts it), no key is reserved, the output after JSON is valid input, no flash kind collides
 * or is lost in JSON, the plugins' keys are passed and not redefined, Passport's slot is fine.
 * Each condition implies the key-by-key check finds nothing, so that check (and its message)
 * is only computed for a schema that has a problem: the type-check cost of a good schema is a
 * few whole-object comparisons, not every key times every fault (issue 14).
 */
type IsFine<TIn, TOut, TFlash, TExtension extends string> = [TIn] extends [never]
  ? false
  : IsObject<TOut> extends true
    ? [AcceptsEmpty<TIn>] extends [true]
      ? [(keyof TOut | keyof TIn) & ReservedKey] extends [never]
        ? [JsonifyKeys<TOut>] extends [TIn]
          ? PassportProblem<TIn> extends ''
            ? FlashIsFine<FlashShape<TFlash>, keyof TOut | ExtensionKey> extends true
              ? ExtensionsAreFine<keyof TOut, TExtension>
              : false
            : false
          : false
        : false
      : false
    : false

/** `true` when every member of `TIn` accepts `{}` (distributive: a union is checked member by member). */
type AcceptsEmpty<TIn> = TIn extends unknown ? ({} extends TIn ? true : false) : never

/** {@link Jsonify} applied key by key (each key's value at depth 0, as the key-by-key check does). */
type JsonifyKeys<T> = { [TKey in keyof T]: Jsonify<T[TKey]> }

/** `true` when no flash kind is a data key or reserved name, and every kind's message survives JSON. */
type FlashIsFine<TShape, TDataKey> = [keyof TShape] extends [never]
  ? true
  : [keyof TShape & (TDataKey | ReservedKey)] extends [never]
    ? [{ [TKind in keyof TShape]: FlashJsonOutput<TShape[TKind]> }] extends [
        { [TKind in keyof TShape]: FlashInput<TShape[TKind]> },
      ]
      ? true
      : false
    : false

type FlashJsonOutput<TSchema> = TSchema extends StandardSchemaV1
  ? Jsonify<SchemaOutput<TSchema>>
  : never
type FlashInput<TSchema> = TSchema extends StandardSchemaV1 ? SchemaInput<TSchema> : never

/** `true` when no data key is a plugin's and every plugin's key has its fragment in `extensions`. */
type ExtensionsAreFine<TDataKey, TExtension extends string> = [ExtensionKey] extends [never]
  ? true
  : [TDataKey & ExtensionKey] extends [never]
    ? [Exclude<ExtensionKey, TExtension>] extends [never]
      ? true
      : false
    : false

/** What is wrong with one data key (a union when several things are). */
type KeyFault = 'member' | 'prototype' | 'required' | JsonFault
/** Why a value does not survive a JSON round trip. */
type JsonFault = 'date' | 'map' | 'set' | 'bigint' | 'function' | 'mismatch'

/** The problems of the data keys, in a fixed order, each `''` when absent. */
type DataProblems<TSchema, TIn, TOut> =
  KeyFaults<TSchema, TIn, TOut> extends infer TFaults
    ? [TFaults[keyof TFaults]] extends [never]
      ? [GenericRequired<TSchema, TIn>, PassportProblem<TIn>]
      : [
          ...ReservedGroups<'key', TFaults>,
          Group<
            'key',
            KeysWith<TFaults, 'required'>,
            'required, but a new session starts from {}, give it a .default() or make it .optional()'
          >,
          ...JsonGroups<'key', TFaults>,
          PassportProblem<TIn>,
        ]
    : []

type KeyFaults<TSchema, TIn, TOut> = {
  [TKey in (keyof TOut | keyof TIn) & string]-?: TKey extends MemberKey
    ? 'member'
    : TKey extends PrototypeKey
      ? 'prototype'
      :
          | (TKey extends RequiredDataKey<TSchema, TIn> ? 'required' : never)
          | (TKey extends keyof TIn & keyof TOut ? JsonFaultOf<TIn[TKey], TOut[TKey]> : never)
}

/** The reserved-name groups, shared by the app schema's and a plugin fragment's messages. */
type ReservedGroups<TNoun extends string, TFaults> = [
  Group<TNoun, KeysWith<TFaults, 'member'>, 'reserved for a session member, rename it'>,
  Group<
    TNoun,
    KeysWith<TFaults, 'prototype'>,
    'reserved (every object has it, or it reaches the prototype), rename it'
  >,
]

type JsonGroups<TNoun extends string, TFaults> = [
  Group<
    TNoun,
    KeysWith<TFaults, 'date'>,
    'a Date comes back from the store as a string, use z.coerce.date()'
  >,
  Group<TNoun, KeysWith<TFaults, 'map'>, 'a Map comes back from the store as {}, use z.record()'>,
  Group<TNoun, KeysWith<TFaults, 'set'>, 'a Set comes back from the store as {}, use z.array()'>,
  Group<TNoun, KeysWith<TFaults, 'bigint'>, 'a bigint cannot be stored as JSON, use z.number()'>,
  Group<
    TNoun,
    KeysWith<TFaults, 'function'>,
    'a function or symbol is dropped by JSON, store plain data'
  >,
  Group<
    TNoun,
    KeysWith<TFaults, 'mismatch'>,
    'what comes back from the store does not parse again (a .transform() must accept its own output), use z.codec()'
  >,
]

/** Keys whose faults include `TFault`. */
type KeysWith<TFaults, TFault extends KeyFault | ExtensionFault> = {
  [TKey in keyof TFaults]: TFault extends TFaults[TKey] ? TKey : never
}[keyof TFaults]

/**
 * `{}` is not valid input although no single key is required (a union of objects, say): the
 * general message. zod's `.catch()` on the whole schema builds the session from its catch value.
 */
type GenericRequired<TSchema, TIn> = TSchema extends ZodCatch
  ? ''
  : {} extends TIn
    ? ''
    : [Exclude<RequiredKey<TIn>, CatchKey<TSchema>>] extends [never]
      ? [RequiredKey<TIn>] extends [never]
        ? 'a new session must be buildable from {}, give every required key a .default() or make it .optional()'
        : ''
      : ''

/** Keys `{}` does not provide, unless zod's `.catch()` (on the key or the whole object) fills them. */
type RequiredDataKey<TSchema, TIn> = TSchema extends ZodCatch
  ? never
  : Exclude<RequiredKey<TIn>, CatchKey<TSchema>>

type RequiredKey<TIn> = {
  [TKey in keyof TIn]-?: {} extends Pick<TIn, TKey> ? never : TKey
}[keyof TIn]

/** zod's `.catch()`: parsing `{}` succeeds with the catch value although the input type is required. */
interface ZodCatch {
  readonly _zod: { readonly def: { readonly type: 'catch' } }
}

/** Keys of a zod object whose schema is a `.catch()`. */
type CatchKey<TSchema> = TSchema extends { readonly shape: infer TShape }
  ? { [TKey in keyof TShape]: TShape[TKey] extends ZodCatch ? TKey : never }[keyof TShape]
  : never

/** `never` when what a store hands back (the output after JSON) is valid input again. */
type JsonFaultOf<TIn, TOut> = [Jsonify<TOut>] extends [TIn]
  ? never
  : [NotJsonKind<TOut, []>] extends [never]
    ? 'mismatch'
    : NotJsonKind<TOut, []>

/** The kinds of value inside `T` that JSON does not carry. */
type NotJsonKind<T, TDepth extends unknown[]> = T extends
  | string
  | number
  | boolean
  | null
  | undefined
  ? never
  : TDepth['length'] extends MaxDepth
    ? never
    : T extends Date
      ? 'date'
      : T extends ReadonlyMap<unknown, unknown>
        ? 'map'
        : T extends ReadonlySet<unknown>
          ? 'set'
          : T extends bigint
            ? 'bigint'
            : T extends symbol | ((...args: never) => unknown)
              ? 'function'
              : T extends JsonValue
                ? never
                : T extends readonly (infer TItem)[]
                  ? NotJsonKind<TItem, [...TDepth, unknown]>
                  : T extends object
                    ? NotJsonKind<T[keyof T], [...TDepth, unknown]>
                    : never

/**
 * Passport's `logOut()` deletes `req.session.passport.user` and saves: a schema that requires
 * `user` then refuses the record every logged-out session is stored as.
 */
type PassportProblem<TIn> = 'passport' extends keyof TIn
  ? NonNullable<TIn['passport' & keyof TIn]> extends infer TSlot
    ? TSlot extends object
      ? 'user' extends RequiredKey<TSlot>
        ? "key 'passport': Passport's logout deletes passport.user, make user .optional()"
        : ''
      : ''
    : ''
  : ''

/**
 * How the app's schema and `extensions` meet the keys plugins declared in `SessionExtensions`: a
 * key in both the schema and `SessionExtensions`, and a declared key whose fragment is not passed.
 */
type ExtensionUseProblems<TDataKey, TExtension extends string> = [ExtensionKey] extends [never]
  ? []
  : [
      Group<
        'key',
        TDataKey & ExtensionKey,
        "also a plugin's key (declared in SessionExtensions), remove it from the schema: the plugin's extension validates it"
      >,
      Group<
        'key',
        Exclude<ExtensionKey, TExtension>,
        "a plugin's key (declared in SessionExtensions) without its schema, pass the plugin's fragment: session({ extensions: [...] })"
      >,
    ]

/** What is wrong with one key of a plugin's fragment (a union when several things are). */
type ExtensionFault = 'member' | 'prototype' | 'undeclared' | 'type' | 'required' | JsonFault

type ExtensionFaults<TShape> = {
  [TKey in keyof TShape & string]-?: TKey extends MemberKey
    ? 'member'
    : TKey extends PrototypeKey
      ? 'prototype'
      : TKey extends ExtensionKey
        ? TShape[TKey] extends StandardSchemaV1
          ? FragmentFault<
              SchemaInput<TShape[TKey]>,
              SchemaOutput<TShape[TKey]>,
              SessionExtensions[TKey]
            >
          : never
        : 'undeclared'
}

/** A plugin that declares Passport's slot has the app's rule for it (logout deletes `user`). */
type FragmentPassportProblem<TShape> = TShape extends {
  readonly passport: infer TSlot extends StandardSchemaV1
}
  ? PassportProblem<{ passport: SchemaInput<TSlot> }>
  : ''

type FragmentFault<TIn, TOut, TDeclared> =
  | (undefined extends TIn ? never : 'required')
  // `undefined` is the 'required' check's business: one message per problem.
  | ([TOut] extends [TDeclared]
      ? [Exclude<TDeclared, undefined>] extends [TIn]
        ? never
        : 'type'
      : 'type')
  | JsonFaultOf<TIn, TOut>

/** The problems of the flash kinds: a kind that is also a data key, a value JSON does not carry. */
type FlashProblems<TFlash, TDataKey> =
  FlashFaults<FlashShape<TFlash>, TDataKey> extends infer TFaults
    ? [TFaults[keyof TFaults]] extends [never]
      ? []
      : [
          Group<
            'flash kind',
            KeysWith<TFaults, 'member'>,
            'also a session data key or member name, rename it'
          >,
          ...JsonGroups<'flash kind', TFaults>,
        ]
    : []

type FlashFaults<TShape, TDataKey> = {
  [TKind in keyof TShape & string]-?: TKind extends TDataKey | ReservedKey
    ? 'member'
    : TShape[TKind] extends StandardSchemaV1
      ? JsonFaultOf<SchemaInput<TShape[TKind]>, SchemaOutput<TShape[TKind]>>
      : never
}

type IsObject<T> = [T] extends [object]
  ? [T] extends [readonly unknown[]]
    ? false
    : [T] extends [(...args: never) => unknown]
      ? false
      : true
  : false

// ---- the message --------------------------------------------------------------------------------

/** `noun 'a'` / `nouns 'a', 'b'`, then the text; `''` when there are no keys. */
type Group<TNoun extends string, TKeys, TText extends string> = [TKeys] extends [never]
  ? ''
  : `${TNoun}${IsUnion<TKeys> extends true ? 's' : ''} ${KeyList<TKeys & string>}: ${TText}`

/** The non-empty parts joined with `; `, prefixed; `never` when every part is empty. */
type Message<
  TParts extends readonly string[],
  TJoined extends string = '',
> = TParts extends readonly [infer THead extends string, ...infer TRest extends readonly string[]]
  ? Message<TRest, THead extends '' ? TJoined : TJoined extends '' ? THead : `${TJoined}; ${THead}`>
  : TJoined extends ''
    ? never
    : `typed-session: ${TJoined}`

/** `'a', 'b', 'c'`: the members of a union of keys, quoted. */
type KeyList<TKeys extends string, TJoined extends string = ''> = [TKeys] extends [never]
  ? TJoined
  : LastOf<TKeys> extends infer TLast extends string
    ? KeyList<Exclude<TKeys, TLast>, TJoined extends '' ? `'${TLast}'` : `'${TLast}', ${TJoined}`>
    : TJoined

/** `true` when `T` is a union of two or more members. */
export type IsUnion<T> = [T] extends [LastOf<T>] ? false : true

/** One member of a union (the last the compiler lists), read through an intersection of getters. */
type LastOf<TUnion> = (TUnion extends unknown ? (pick: () => TUnion) => void : never) extends (
  pick: infer TPicks,
) => void
  ? TPicks extends () => infer TLast
    ? TLast
    : never
  : never
