import { OutgoingMessage, type ServerResponse } from 'node:http'
import { signId } from '../cookie/signature.js'
import type { RequestState } from './request-state.js'

// Writing the session cookie into the response: the header values, never the decision (that is
// `shouldSetCookie` in commit.ts).

/** The cookie value for the current id: the presented one when it is still right, else signed. */
export function signedValue(s: RequestState): string {
  if (s.presentedValue !== undefined && s.id === s.presentedId) return s.presentedValue
  return signId(s.id, s.config.secrets[0]!)
}

/** Add a `Set-Cookie` that deletes the session cookie (a logout); the decision is then made. */
export function clearCookie(s: RequestState): void {
  if (headersSent(s.res)) return
  appendCookie(s, s.cookie.serializeClear(s.config.name))
  s.cookieDecided = true
}

/** Add one `Set-Cookie` header, keeping those the app set. */
export function appendCookie(s: RequestState, header: string): void {
  const res = s.res
  if (headersSent(res)) return
  const previous = res.getHeader('Set-Cookie')
  if (previous === undefined) res.setHeader('Set-Cookie', header)
  else
    res.setHeader(
      'Set-Cookie',
      Array.isArray(previous) ? [...previous, header] : [String(previous), header],
    )
}

const headersSentGetter = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'headersSent')
  ?.get as (this: ServerResponse) => boolean

/**
 * Whether the headers really went out. While a commit holds the response, `res.headersSent`
 * answers `true` to the app (it ended the response); the session's own code asks Node.
 */
export function headersSent(res: ServerResponse): boolean {
  return headersSentGetter.call(res)
}
