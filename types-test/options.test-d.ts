/*
 * Option types of `session()`: express-session's names and meanings, our extra values
 * (`secure: 'auto'`, `sameSite: 'auto'`, `onInvalid`), and stores written for express-session.
 */
import type { IncomingMessage } from 'node:http'
import connectPgSimple from 'connect-pg-simple'
import { RedisStore } from 'connect-redis'
import expressSession from 'express-session'
import { createClient } from 'redis'
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import {
  type CookieOption,
  type CookieOptions,
  MemoryStore,
  type SessionEvent,
  type SessionIssue,
  type SessionRecord,
  type SessionStore,
  type StoreOption,
  session,
} from 'typed-session'
import { z } from 'zod'

const schema = z.object({ views: z.number().int().default(0) })
const secret = 'a-secret-of-at-least-thirty-two-characters'

// secret: one string, or a list (the first signs, all verify); required.
session({ schema, secret })
session({ schema, secret: [secret, 'an-older-secret-still-accepted-for-a-while'] })
session({ schema, secret: [secret] as const })
expectError(session({ schema }))
expectError(session({ schema, secret: 42 }))

// cookie: an object with express-session's attributes plus 'auto' for secure and sameSite ...
session({
  schema,
  secret,
  cookie: {
    maxAge: 86_400_000,
    httpOnly: true,
    secure: 'auto',
    sameSite: 'auto',
    domain: 'example.com',
    path: '/app',
    partitioned: true,
    priority: 'high',
  },
})
session({ schema, secret, cookie: { secure: true, sameSite: 'strict', expires: new Date() } })
session({ schema, secret, cookie: { secure: false, sameSite: false } })
session({ schema, secret, cookie: { sameSite: 'none' } })
// ... or a function of the request, called for new sessions.
session({
  schema,
  secret,
  cookie: (req) => {
    expectType<IncomingMessage>(req)
    return { maxAge: req.headers['x-remember-me'] === '1' ? 30 * 86_400_000 : 3_600_000 }
  },
})
expectAssignable<CookieOption>({ secure: 'auto' })
expectAssignable<CookieOption>(() => ({ sameSite: 'auto' }) as const)
expectNotAssignable<CookieOptions>({ secure: 'always' })
expectError(session({ schema, secret, cookie: { secure: 'yes' } }))
expectError(session({ schema, secret, cookie: { sameSite: 'loose' } }))
expectError(session({ schema, secret, cookie: { maxAge: '1d' } }))
expectError(session({ schema, secret, cookie: { expires: '2030-01-01' } }))
expectError(session({ schema, secret, cookie: { priority: 'urgent' } }))
expectError(session({ schema, secret, cookie: { signed: false } }))
expectError(session({ schema, secret, cookie: () => ({ secure: 'yes' }) }))

// onInvalid: 'fresh', 'error', or a repair function of the raw record and the issues.
session({ schema, secret, onInvalid: 'fresh' })
session({ schema, secret, onInvalid: 'error' })
session({
  schema,
  secret,
  onInvalid: (record, issues) => {
    expectType<Readonly<Record<string, unknown>>>(record)
    expectType<readonly SessionIssue[]>(issues)
    return typeof record.visits === 'number' ? { views: record.visits } : undefined
  },
})
expectError(session({ schema, secret, onInvalid: 'drop' }))
expectError(session({ schema, secret, onInvalid: true }))

// The other express-session options, with their types.
session({
  schema,
  secret,
  name: 'connect.sid',
  genid: (req) => {
    expectType<IncomingMessage>(req)
    return 'a-session-id-from-somewhere-else'
  },
  proxy: true,
  resave: false,
  rolling: true,
  saveUninitialized: false,
  unset: 'destroy',
  storeTimeout: 2_000,
  absoluteTimeout: 12 * 3_600_000,
  maxSessionBytes: 16_384,
  saveOnServerError: false,
  allowMemoryStoreInProduction: false,
  onEvent: (event) => {
    expectType<SessionEvent>(event)
    if (event.type === 'invalid_data') expectType<readonly SessionIssue[]>(event.issues)
  },
})
expectError(session({ schema, secret, name: 1 }))
expectError(session({ schema, secret, genid: () => 42 }))
expectError(session({ schema, secret, unset: 'delete' }))
expectError(session({ schema, secret, resave: 'yes' }))
expectError(session({ schema, secret, onEvent: (event: string) => event }))
// Misspelled options are caught, not silently ignored.
expectError(session({ schema, secret, cookies: { maxAge: 1 } }))
expectError(session({ schema, secret, saveUnitialized: true }))

// store: connect-redis ...
const redisStore = new RedisStore({ client: createClient(), prefix: 'app:' })
session({ schema, secret, store: redisStore })
expectAssignable<StoreOption>(redisStore)
// ... connect-pg-simple (built from express-session, as its README does) ...
const PgStore = connectPgSimple(expressSession)
const pgStore = new PgStore({ conString: 'postgres://localhost/app', createTableIfMissing: true })
session({ schema, secret, store: pgStore })
// ... express-session's own MemoryStore ...
session({ schema, secret, store: new expressSession.MemoryStore() })
// ... typed-session's own MemoryStore (the default) ...
session({ schema, secret, store: new MemoryStore() })
session({ schema, secret, store: new MemoryStore({ max: 50_000, checkPeriodMs: 30_000 }) })
expectAssignable<SessionStore>(new MemoryStore())
expectError(new MemoryStore({ max: '50k' }))
// ... and a native Promise store.
const nativeStore: SessionStore = {
  get: async (_id: string): Promise<unknown> => null,
  set: async (_id: string, _record: SessionRecord): Promise<void> => {},
  destroy: async (_id: string): Promise<void> => {},
}
session({ schema, secret, store: nativeStore })
// Not stores: missing methods, or something else entirely.
expectError(session({ schema, secret, store: {} }))
expectError(session({ schema, secret, store: { get: async (_id: string) => null } }))
expectError(session({ schema, secret, store: 'redis://localhost' }))
expectNotAssignable<StoreOption>({ get: (_id: string) => null, set: () => {} })
