/*
 * The per-owner session index (issue 12): `owner` is checked against the schema, and what it
 * returns types `listSessions` / `revokeSessions` / `revokeSession` and `ownerEpoch`.
 */
import { expectAssignable, expectError, expectType } from 'tsd'
import {
  isSessionError,
  type OwnedSession,
  type SessionEvent,
  type SessionIndexApi,
  type SessionMiddleware,
  session,
} from 'typed-session'
import { z } from 'zod'

const secret = 'a-secret-of-at-least-thirty-two-characters'
const schema = z.object({
  passport: z.object({ user: z.string().optional() }).optional(),
  device: z.string().optional(),
  visits: z.number().int().default(0),
})

// Accepted: passport's shape, a label from typed data, an epoch looked up by the typed owner.
const appSession = session({
  schema,
  secret,
  owner: (data) => data.passport?.user,
  sessionLabel: (data) => data.device,
  ownerEpoch: (owner) => {
    expectType<string>(owner)
    return 3
  },
})
expectType<Promise<OwnedSession[]>>(appSession.listSessions('user-1'))
expectType<Promise<OwnedSession[]>>(appSession.listSessions('user-1', { current: 'sid' }))
expectType<Promise<number>>(appSession.revokeSessions('user-1'))
expectType<Promise<number>>(appSession.revokeSessions('user-1', { except: 'sid' }))
expectType<Promise<boolean>>(appSession.revokeSession('user-1', 'handle'))
// Still a middleware carrying the data type (Register reads it).
expectAssignable<SessionMiddleware<z.output<typeof schema>, {}>>(appSession)

// The owner function sees the schema's output: its keys and their types.
session({
  schema,
  secret,
  owner: (data) => {
    expectType<{ user?: string | undefined } | undefined>(data.passport)
    expectType<number>(data.visits)
    return undefined
  },
})
// Rejected: a key the schema does not have, an owner that is not a string, writing to the data.
expectError(session({ schema, secret, owner: (data) => data.nope }))
expectError(session({ schema, secret, owner: (data) => data.visits }))
expectError(session({ schema, secret, owner: (data) => ({ id: data.passport?.user }) }))
expectError(
  session({
    schema,
    secret,
    owner: (data) => {
      data.visits = 1
      return undefined
    },
  }),
)
// The label is a string from typed data; the epoch a string or a number (or a promise of one).
expectError(
  session({ schema, secret, owner: (d) => d.passport?.user, sessionLabel: (d) => d.visits }),
)
expectError(session({ schema, secret, owner: (d) => d.passport?.user, ownerEpoch: () => ({}) }))
session({ schema, secret, owner: (d) => d.passport?.user, ownerEpoch: async () => 'v2' })

// The owner id type is what `owner` returns: a branded id is required back.
const branded = z.object({ userId: z.string().brand<'UserId'>().optional() })
const brandedSession = session({ schema: branded, secret, owner: (data) => data.userId })
type UserId = NonNullable<z.output<typeof branded>['userId']>
expectError(brandedSession.listSessions('plain string'))
expectError(brandedSession.revokeSessions('plain string'))
expectType<Promise<number>>(brandedSession.revokeSessions('u1' as UserId))
session({
  schema: branded,
  secret,
  owner: (data) => data.userId,
  ownerEpoch: (owner) => {
    expectType<UserId>(owner)
    return undefined
  },
})
// A literal union of owners, e.g. tenant-scoped ids.
const tenant = z.object({ tenant: z.enum(['acme', 'globex']).optional() })
const tenantSession = session({ schema: tenant, secret, owner: (data) => data.tenant })
tenantSession.listSessions('acme')
expectError(tenantSession.listSessions('initech'))

// Rejected: list / revoke calls with the wrong argument types.
expectError(appSession.listSessions(42))
expectError(appSession.revokeSessions('user-1', { except: 42 }))
expectError(appSession.revokeSessions('user-1', { keep: 'sid' }))
expectError(appSession.revokeSession('user-1'))

// Without `owner` there is no index to ask: the calls do not compile.
const plain = session({ schema, secret })
expectAssignable<SessionIndexApi<never>>(plain)
expectError(plain.listSessions('user-1'))
expectError(plain.revokeSessions('user-1'))
// An epoch without an owner has nothing to be checked against: its parameter is `never`, so a
// function that uses the owner does not compile (session() also throws ERR_SESSION_OPTIONS).
expectError(session({ schema, secret, ownerEpoch: (owner) => owner.length }))

// A listed session carries no id, only an opaque handle.
const listed = (await appSession.listSessions('user-1'))[0]!
expectType<string>(listed.handle)
expectType<Date>(listed.createdAt)
expectType<Date>(listed.lastActiveAt)
expectType<Date | null>(listed.expiresAt)
expectType<string | undefined>(listed.label)
expectType<boolean>(listed.current)
expectError(listed.id)

// The event a revocation reports, and the error code of a store without an index.
const onEvent = (event: SessionEvent): void => {
  if (event.type === 'revoked') expectType<'revoked' | 'epoch'>(event.reason)
}
session({ schema, secret, onEvent })
const failure: unknown = undefined
if (isSessionError(failure) && failure.code === 'ERR_SESSION_NO_INDEX') expectType<500>(500)
