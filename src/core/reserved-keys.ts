/**
 * Names that belong to the session object (its members, the stored `cookie`, the flash slot) and
 * so cannot be data keys: the runtime twin of the compile-time `ReservedKey` check, for JavaScript
 * users and schemas the compiler cannot see into.
 */
export const RESERVED_KEYS: readonly string[] = [
  'id',
  'cookie',
  'flash',
  'save',
  'reload',
  'regenerate',
  'destroy',
  'touch',
  'resetMaxAge',
  // The owner slot of the session index (issue 12, src/owner/meta.ts).
  '$session',
]

/**
 * Names every object already has, or that reach a prototype when assigned: the runtime twin of the
 * compile-time `PrototypeKey`. As data keys they would shadow `Object.prototype` (a string
 * `toString` breaks `String(req.session)`) or pollute a prototype.
 */
export const PROTOTYPE_KEYS: readonly string[] = [
  '__proto__',
  'prototype',
  'constructor',
  'toString',
  'toLocaleString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
]

/**
 * Keys never copied onto `req.session`: the reserved names, which would shadow a member, and the
 * ones that would reach a prototype (prototype pollution through a loose schema).
 */
export const FORBIDDEN_DATA_KEYS: ReadonlySet<string> = new Set([
  ...RESERVED_KEYS,
  ...PROTOTYPE_KEYS,
])
