import type { IncomingMessage } from 'node:http'
import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { CookieSettings } from '../cookie/settings.js'
import type { CookieVerifier, Secret } from '../cookie/signature.js'
import type { CookieOption } from '../cookie/types.js'
import type { InvalidPolicy } from '../options.js'
import type { OwnerEpoch } from '../owner/types.js'
import type { StoredParts } from '../stores/memory.js'
import type { SessionStore, SyncWrites } from '../stores/types.js'
import type { SessionEvent } from './events.js'
import type { LiveRegistry } from './registry.js'

/** `session()` options after defaults and checks: what every request reads. */
export interface SessionConfig {
  readonly schema: StandardSchemaV1
  readonly flashSchemas: Readonly<Record<string, StandardSchemaV1>> | undefined
  readonly secrets: readonly Secret[]
  /** Verifies (and remembers) cookie values signed with `secrets`. */
  readonly verifier: CookieVerifier
  readonly name: string
  readonly cookieOption: CookieOption | undefined
  /** The checked settings when `cookie` is an object; `undefined` when it is a function. */
  readonly cookieSettings: CookieSettings | undefined
  /** The store, adapted; `getSync` and `writeSync` when it answers in-process. */
  readonly store: SessionStore & {
    readonly getSync?: ((id: string) => StoredParts | undefined) | undefined
    readonly writeSync?: SyncWrites | undefined
  }
  /** The store as the user passed it, for `req.sessionStore`. */
  readonly userStore: unknown
  readonly registry: LiveRegistry
  readonly genid: ((req: IncomingMessage) => string) | undefined
  readonly proxy: boolean | undefined
  readonly resave: boolean
  readonly rolling: boolean
  readonly saveUninitialized: boolean
  readonly unset: 'destroy' | 'keep'
  readonly onInvalid: InvalidPolicy
  readonly onEvent: ((event: SessionEvent) => void) | undefined
  readonly absoluteTimeout: number | undefined
  readonly maxSessionBytes: number
  readonly saveOnServerError: boolean
  // ---- Per-owner index (issue 12)
  /** Who a session's data says owns it (`undefined`: anonymous, or no `owner` option). */
  readonly owner: ((data: Readonly<Record<string, unknown>>) => unknown) | undefined
  readonly sessionLabel: ((data: Readonly<Record<string, unknown>>) => unknown) | undefined
  readonly ownerEpoch: ((owner: string) => OwnerEpoch | Promise<OwnerEpoch>) | undefined
}
