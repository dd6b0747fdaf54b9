import type {} from 'express-serve-static-core'
import type { FlashFunction, RegisteredFlash, RegisteredSession } from '../register.js'

/*
 * Express hands handlers the `Request` of express-serve-static-core, which extends the global
 * `Express.Request`. @types/express-session (pulled in by connect-redis and connect-pg-simple)
 * declares `session` on the global one; declaring it there again is TS2717. Declaring it on the
 * extending interface with a structural subtype of express-session's `Session` narrows it instead,
 * so both can be in one program (see DESIGN.md section 3).
 */
declare module 'express-serve-static-core' {
  interface Request {
    /**
     * The typed session (see `Register`). Assign `null` to drop it for this response (the `unset`
     * option says what that means). A setter, not an optional property, so that reading it is
     * never `| undefined`; for the same reason `delete req.session` does not compile: TypeScript
     * deletes only optional properties.
     */
    get session(): RegisteredSession
    set session(value: RegisteredSession | null | undefined)
    /** The session id, as in express-session. */
    sessionID: string
    /** Typed flash messages (connect-flash call shapes). */
    flash: FlashFunction<RegisteredFlash>
  }
}
