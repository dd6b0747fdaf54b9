import type { IncomingMessage } from 'node:http'
import { serialize } from 'cookie'
import { SessionError } from '../errors.js'
import type { CookieOption, CookieOptions } from './types.js'

/** Cookie settings with every default applied and every value checked. */
export interface CookieSettings {
  readonly maxAge: number | undefined
  readonly expires: Date | undefined
  readonly httpOnly: boolean
  readonly secure: boolean | 'auto'
  readonly sameSite: boolean | 'lax' | 'strict' | 'none' | 'auto'
  readonly domain: string | undefined
  readonly path: string
  readonly partitioned: boolean | undefined
  readonly priority: 'low' | 'medium' | 'high' | undefined
}

/** The safe defaults: HttpOnly, SameSite=Lax, Secure on secure requests, the whole site. */
const DEFAULTS: CookieSettings = {
  maxAge: undefined,
  expires: undefined,
  httpOnly: true,
  secure: 'auto',
  sameSite: 'lax',
  domain: undefined,
  path: '/',
  partitioned: undefined,
  priority: undefined,
}

/**
 * Check the cookie name and settings once, at `session()`. Throws `ERR_SESSION_OPTIONS` for
 * anything that would inject into the `Set-Cookie` header (CVE-2024-47764: `;`, CR, LF in name,
 * domain or path) or contradict a cookie prefix (`__Host-`, `__Secure-`, RFC 6265bis 4.1.3).
 */
export function resolveCookieSettings(
  name: string,
  options: CookieOptions | undefined,
): CookieSettings {
  const settings: CookieSettings = {
    maxAge: options?.maxAge ?? DEFAULTS.maxAge,
    expires: options?.expires ?? DEFAULTS.expires,
    httpOnly: options?.httpOnly ?? DEFAULTS.httpOnly,
    secure: options?.secure ?? DEFAULTS.secure,
    sameSite: options?.sameSite ?? DEFAULTS.sameSite,
    domain: options?.domain ?? DEFAULTS.domain,
    path: options?.path ?? DEFAULTS.path,
    partitioned: options?.partitioned ?? DEFAULTS.partitioned,
    priority: options?.priority ?? DEFAULTS.priority,
  }
  checkSettings(name, settings)
  return settings
}

/**
 * The settings of one request: fixed settings as they are, a cookie function's result resolved and
 * checked (a hostile value derived from the request fails that request, never the header).
 */
export function cookieSettingsFor(
  name: string,
  option: CookieOption | undefined,
  fixed: CookieSettings | undefined,
  req: IncomingMessage,
): CookieSettings {
  if (fixed !== undefined) return fixed
  const computed = (option as (req: IncomingMessage) => CookieOptions)(req)
  return resolveCookieSettings(name, computed)
}

function checkSettings(name: string, settings: CookieSettings): void {
  const fail = (message: string): never => {
    throw new SessionError('ERR_SESSION_OPTIONS', `typed-session: ${message}`)
  }
  if (name.length === 0 || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    fail(`cookie name ${JSON.stringify(name)} is not a valid cookie name (RFC 6265 token)`)
  }
  if (settings.maxAge !== undefined && (!Number.isFinite(settings.maxAge) || settings.maxAge < 0)) {
    fail('cookie.maxAge must be a finite number of milliseconds, 0 or more')
  }
  if (settings.expires !== undefined && Number.isNaN(settings.expires.getTime())) {
    fail('cookie.expires must be a valid Date')
  }
  if (settings.maxAge !== undefined && settings.expires !== undefined) {
    fail('set cookie.maxAge or cookie.expires, not both')
  }
  const lower = name.toLowerCase()
  if (lower.startsWith('__host-')) {
    if (settings.domain !== undefined) fail('a __Host- cookie cannot have a domain')
    if (settings.path !== '/') fail("a __Host- cookie must have path '/'")
    if (settings.secure === false) fail('a __Host- cookie must be secure')
  }
  if (lower.startsWith('__secure-') && settings.secure === false) {
    fail('a __Secure- cookie must be secure')
  }
  if (settings.sameSite === 'none' && settings.secure === false) {
    fail("sameSite: 'none' needs secure: true or 'auto' (browsers drop it otherwise)")
  }
  try {
    // The cookie serializer rejects `;`, CR, LF and other bytes that would end the attribute.
    serialize(name, 'probe', {
      ...(settings.domain === undefined ? {} : { domain: settings.domain }),
      path: settings.path,
      ...(settings.priority === undefined ? {} : { priority: settings.priority }),
    })
  } catch (cause) {
    fail(`cookie ${cause instanceof Error ? cause.message : 'settings are invalid'}`)
  }
}
