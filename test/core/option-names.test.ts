/*
 * session() refuses what it would otherwise ignore or never copy: unknown option names (a
 * misspelled security setting would be silently off) and schema keys that collide with a member
 * or reach a prototype. JavaScript users have no compiler, so these are checked at run time too.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { isSessionError, session } from '../../src/index.js'

const secret = 'a-test-secret-that-is-32-chars-long!'
const schema = z.object({ views: z.number().default(0) })

/** The ERR_SESSION_OPTIONS message `session(options)` throws (fails the test if it does not). */
function refusal(options: Record<string, unknown>): string {
  try {
    session(options as never)
  } catch (err) {
    expect(isSessionError(err) && err.code).toBe('ERR_SESSION_OPTIONS')
    return (err as Error).message
  }
  throw new Error('session() accepted the options')
}

describe('session() option names', () => {
  it('refuses a misspelled option, naming the closest known one', () => {
    expect(refusal({ schema, secret, absoluteTimout: 60_000 })).toBe(
      'typed-session: unknown option "absoluteTimout" (did you mean "absoluteTimeout"?)',
    )
    expect(refusal({ schema, secret, saveUnitialized: true })).toContain(
      '"saveUnitialized" (did you mean "saveUninitialized"?)',
    )
    expect(refusal({ schema, secret, Rolling: true })).toContain('(did you mean "rolling"?)')
  })

  it('names every unknown option at once, cookie settings included', () => {
    expect(refusal({ schema, secret, resav: true, cookie: { secrue: true, maxage: 1_000 } })).toBe(
      'typed-session: unknown options "resav" (did you mean "resave"?), "cookie.secrue" (did you mean "cookie.secure"?), "cookie.maxage" (did you mean "cookie.maxAge"?)',
    )
  })

  it("refuses express-session's removed or foreign names instead of ignoring them", () => {
    expect(refusal({ schema, secret, cookie: { signed: false } })).toContain('"cookie.signed"')
    expect(refusal({ schema, secret, cookieName: 'sid' })).toContain('"cookieName"')
  })

  it('accepts every documented option', () => {
    const middleware = session({
      schema,
      secret,
      name: 'sid',
      cookie: {
        maxAge: 60_000,
        httpOnly: true,
        secure: 'auto',
        sameSite: 'lax',
        path: '/',
        partitioned: false,
        priority: 'high',
      },
      flash: { info: z.string() },
      genid: () => 'an-id-that-is-long-enough-0123456789',
      proxy: false,
      resave: false,
      rolling: false,
      saveUninitialized: false,
      unset: 'keep',
      onInvalid: 'fresh',
      onEvent: () => {},
      storeTimeout: 1_000,
      absoluteTimeout: 120_000,
      maxSessionBytes: 4_096,
      saveOnServerError: false,
      allowMemoryStoreInProduction: true,
    })
    expect(typeof middleware).toBe('function')
  })
})

describe('session() schema keys', () => {
  it('refuses a member name with the reserved-key message', () => {
    expect(refusal({ schema: z.object({ id: z.string().optional() }), secret })).toBe(
      "typed-session: key 'id': reserved for a session member, rename it",
    )
  })

  it('refuses names every object has, or that reach a prototype', () => {
    for (const key of ['prototype', 'constructor', 'toString', 'valueOf', 'hasOwnProperty']) {
      const shape = z.object({ [key]: z.string().optional() })
      expect(refusal({ schema: shape, secret })).toBe(
        `typed-session: key '${key}': reserved (every object has it, or it reaches the prototype), rename it`,
      )
    }
  })
})
