// Sign-in and form protection for the example: Passport with passport-local against scrypt
// hashes, and a synchronizer CSRF token kept in the session.
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import passport from 'passport'
import { Strategy as LocalStrategy } from 'passport-local'

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
) => Promise<Buffer>
// Unknown user names still pay for one scrypt, so response times do not reveal which names exist.
const DUMMY_SALT = randomBytes(16)

/** A demo account as the app is configured with it (the password is hashed at startup). */
export interface DemoUser {
  readonly id: string
  readonly username: string
  readonly name: string
  readonly password: string
}

/** What `req.user` holds once signed in. */
export interface ShopUser {
  readonly id: string
  readonly username: string
  readonly name: string
}

// Passport types `req.user` as `Express.User`; this is what the example's strategy puts there.
declare global {
  namespace Express {
    interface User extends ShopUser {}
  }
}

/**
 * A Passport instance of its own (two apps in one process, as in tests, never share strategies),
 * checking passwords against scrypt hashes made here at startup; plain passwords are not kept.
 */
export function createPassport(users: readonly DemoUser[]): passport.Authenticator {
  const accounts = users.map(({ password, ...user }) => {
    const salt = randomBytes(16)
    return { user, salt, hash: scryptSync(password, salt, 64) }
  })
  const auth = new passport.Passport()
  auth.use(
    new LocalStrategy((username, password, done) => {
      const account = accounts.find((a) => a.user.username === username)
      scryptAsync(password, account?.salt ?? DUMMY_SALT, 64).then((hash) => {
        if (account && timingSafeEqual(hash, account.hash)) return done(null, account.user)
        done(null, false, { message: 'Wrong user name or password.' })
      }, done)
    }),
  )
  auth.serializeUser((user, done) => done(null, user.id))
  // An id that no longer exists logs the visitor out (Passport 0.7 treats `false` that way).
  auth.deserializeUser((id: string, done) =>
    done(null, accounts.find((a) => a.user.id === id)?.user ?? false),
  )
  return auth
}

/** A fresh CSRF token: 256 bits from the CSPRNG. */
export const newToken = (): string => randomBytes(32).toString('base64url')

/** Does this POST carry the session's CSRF token in `_csrf` (synchronizer token pattern, OWASP)? */
export function hasValidCsrfToken(req: {
  body?: { _csrf?: unknown } | undefined
  session: { csrf?: string | undefined }
}): boolean {
  const sent = Buffer.from(typeof req.body?._csrf === 'string' ? req.body._csrf : '')
  const expected = Buffer.from(req.session.csrf ?? '')
  // timingSafeEqual throws on different lengths, hence the length check; the compare itself is
  // constant-time so the token cannot be guessed byte by byte from response timings.
  return expected.length > 0 && sent.length === expected.length && timingSafeEqual(sent, expected)
}
