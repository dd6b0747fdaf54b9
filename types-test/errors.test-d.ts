/*
 * Error types: a closed union of stable codes, and `isSessionError` narrowing an `unknown` (what an
 * Express error handler receives).
 */
import type { ErrorRequestHandler } from 'express'
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import {
  isSessionError,
  SessionError,
  type SessionErrorCode,
  type SessionIssue,
} from 'typed-session'
import { value } from './helpers.js'

// The code union is exactly the documented codes: adding or renaming one must update this test.
expectType<
  | 'ERR_SESSION_OPTIONS'
  | 'ERR_SESSION_STORE'
  | 'ERR_SESSION_INVALID'
  | 'ERR_SESSION_INVALID_DATA'
  | 'ERR_SESSION_TOO_LARGE'
  | 'ERR_SESSION_DESTROYED'
  | 'ERR_SESSION_MISUSE'
  | 'ERR_SESSION_NO_INDEX'
>(value<SessionErrorCode>())
expectNotAssignable<SessionErrorCode>('ERR_SESSION_UNKNOWN')
expectNotAssignable<SessionErrorCode>('')

// The class: an Error with a code, issues and a suggested status.
const error = new SessionError('ERR_SESSION_STORE', 'Store unavailable', { cause: new Error('x') })
expectAssignable<Error>(error)
expectType<SessionErrorCode>(error.code)
expectType<readonly SessionIssue[]>(error.issues)
expectType<number>(error.status)
new SessionError('ERR_SESSION_INVALID', 'Bad record', { issues: [{ message: 'Expected number' }] })
new SessionError('ERR_SESSION_INVALID', 'Bad record', {
  issues: [{ message: 'Expected number', path: ['cart', 0, { key: 'qty' }] }],
})
expectError(new SessionError('ERR_SESSION_NOPE', 'x'))
expectError(new SessionError('ERR_SESSION_STORE', 'x', { issues: ['not an issue'] }))
expectError(() => {
  error.code = 'ERR_SESSION_MISUSE'
})

// isSessionError narrows what an error handler receives, and only to SessionError.
const handler: ErrorRequestHandler = (err, _req, res, next) => {
  const caught = value<unknown>()
  if (isSessionError(caught)) {
    expectType<SessionError>(caught)
    if (caught.code === 'ERR_SESSION_STORE') res.status(503)
  } else {
    expectType<unknown>(caught)
    expectError(caught.code)
  }
  next(err)
}
expectType<ErrorRequestHandler>(handler)
expectType<(value: unknown) => value is SessionError>(isSessionError)
