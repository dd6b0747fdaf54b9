/*
 * Typed regeneration (flash issue): `regenerate({ keep })` names only schema keys, in every
 * overload (Promise, callback, options + callback).
 */
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import {
  type CheckedRegenerateOptions,
  type KeepKey,
  type RegenerateOptions,
  session,
} from 'typed-session'
import { z } from 'zod'
import { type SessionOf, value } from './helpers.js'

const app = session({
  schema: z.object({
    userId: z.string().optional(),
    cart: z.array(z.string()).default([]),
    theme: z.enum(['light', 'dark']).default('light'),
  }),
  secret: 'a-secret-of-at-least-thirty-two-characters',
  flash: { success: z.string() },
})
const s = value<SessionOf<typeof app>>()
type Data = { userId?: string | undefined; cart: string[]; theme: 'light' | 'dark' }
const callback = (_err?: unknown): void => {}

// Accepted: schema keys, in any overload; no options at all.
expectType<Promise<void>>(s.regenerate({ keep: ['cart'] }))
expectType<Promise<void>>(s.regenerate({ keep: ['cart', 'theme', 'userId'] }))
expectType<Promise<void>>(s.regenerate({ keep: [] }))
expectType<Promise<void>>(s.regenerate({}))
expectType<typeof s>(s.regenerate({ keep: ['cart'] }, callback))
const keys = ['cart', 'theme'] as const
expectType<Promise<void>>(s.regenerate({ keep: keys }))

// Rejected: a key the schema does not have, a member name, a flash kind, a non-string.
expectError(s.regenerate({ keep: ['cartt'] }))
expectError(s.regenerate({ keep: ['id'] }))
expectError(s.regenerate({ keep: ['cookie'] }))
expectError(s.regenerate({ keep: ['success'] }))
expectError(s.regenerate({ keep: [1] }))
expectError(s.regenerate({ keep: 'cart' }))
expectError(s.regenerate({ keep: ['cartt'] }, callback))
expectError(s.regenerate({ keep: ['cart'], other: true }))

// The rejected key is named in the type the compiler prints (on TypeScript 7 too: the options
// overload is the last one, whose complaint TypeScript 7 reports).
expectType<"'cartt' is not a key of your session schema">(value<KeepKey<Data, 'cartt'>>())
expectType<'cart'>(value<KeepKey<Data, 'cart'>>())
const checked = value<CheckedRegenerateOptions<Data, 'cart' | 'nope'>>()
expectType<ReadonlyArray<'cart' | "'nope' is not a key of your session schema"> | undefined>(
  checked.keep,
)
// A RegenerateOptions value built elsewhere is accepted as it is.
const kept: RegenerateOptions<Data> = { keep: ['cart'] }
expectType<Promise<void>>(s.regenerate(kept))

// The options type names exactly the data keys.
expectAssignable<RegenerateOptions<Data>>({ keep: ['userId', 'cart', 'theme'] })
expectNotAssignable<RegenerateOptions<Data>>({ keep: ['views'] })
