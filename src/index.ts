import './express/augment.js'

export type { CookieOption, CookieOptions, SessionCookie } from './cookie/types.js'
export type { SessionEvent, SessionEventType } from './core/events.js'
export type {
  CheckedRegenerateOptions,
  KeepKey,
  RegenerateOptions,
  SessionCallback,
  SessionMembers,
  TypedSession,
} from './core/session-type.js'
export type { SessionErrorCode, SessionIssue } from './errors.js'
export { isSessionError, SessionError } from './errors.js'
export type {
  ExpressSessionStoreLike,
  InvalidPolicy,
  InvalidRepair,
  SessionOptions,
  StoreOption,
} from './options.js'
export { indexConformance } from './owner/conformance.js'
// ---- Per-owner session index (issue 12)
export { patchOwner, recordOwner } from './owner/meta.js'
export type {
  ListSessionsOptions,
  OwnedSession,
  OwnerEpoch,
  OwnerOptions,
  RevokeSessionsOptions,
  SessionIndexApi,
} from './owner/types.js'
export type {
  FlashFunction,
  Register,
  RegisteredData,
  RegisteredFlash,
  RegisteredSession,
  RequestWithSession,
  SessionAccess,
  SessionMiddleware,
} from './register.js'
export type {
  CheckedSchema,
  ExtensionProblem,
  FlashOption,
  FlashValues,
  Jsonify,
  JsonValue,
  MemberKey,
  PrototypeKey,
  ReservedKey,
  SchemaInput,
  SchemaOutput,
  SchemaProblem,
} from './schema/check.js'
export type {
  CheckedExtension,
  ExtensionKey,
  ExtensionShape,
  SessionExtension,
  SessionExtensions,
  WithExtensions,
} from './schema/extension.js'
export { sessionExtension } from './schema/extension.js'
export { MAX_NESTING_DEPTH, MAX_NESTING_WIDTH } from './schema/nesting.js'
/**
 * The same function as {@link session}, as the default export: `import session from 'typed-session'`
 * is the first line of an express-session app, and it keeps working (ESM, and CommonJS through
 * `require('typed-session').default` or TypeScript's default import).
 */
export { session, session as default } from './session.js'
export type { AdaptedStore, AdaptOptions } from './stores/adapt.js'
export { nativeStore, toSessionStore } from './stores/adapt.js'
export type { StoreConformanceCase, StoreConformanceResult } from './stores/conformance.js'
export { runStoreConformance, storeConformance } from './stores/conformance.js'
export type { MemoryStoreOptions, StoredParts } from './stores/memory.js'
export { MemoryStore } from './stores/memory.js'
export type { StoreConstructor } from './stores/store.js'
export { Store } from './stores/store.js'
export type { SessionPatch, SessionRecord, SessionStore, StoredCookie } from './stores/types.js'
