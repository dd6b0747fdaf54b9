import { serialize } from 'cookie'
import { describe, expect, it } from 'vitest'
import { LiveCookie } from '../../src/cookie/live-cookie.js'
import { resolveCookieSettings } from '../../src/cookie/settings.js'
import type { CookieOptions } from '../../src/cookie/types.js'

const VALUE = 's:bXx4V1Ns0KBl2yQZ7a0dT3k2Vx0nC1qL.k9/+Zx0dQ1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV'

/** What the cookie package writes for the same cookie: the reference our fast path must match. */
function reference(cookie: LiveCookie, name: string, value: string, expires: Date | null): string {
  return serialize(name, value, {
    path: cookie.path,
    httpOnly: cookie.httpOnly,
    ...(expires === null ? {} : { expires }),
    ...(cookie.domain === undefined ? {} : { domain: cookie.domain }),
    ...(cookie.secure ? { secure: true } : {}),
    ...(cookie.sameSite === undefined || cookie.sameSite === false
      ? {}
      : { sameSite: cookie.sameSite }),
    ...(cookie.partitioned ? { partitioned: true } : {}),
    ...(cookie.priority === undefined ? {} : { priority: cookie.priority }),
  })
}

const SHAPES: Array<[string, CookieOptions, boolean]> = [
  ['defaults', {}, false],
  ['maxAge on a secure request', { maxAge: 86_400_000 }, true],
  [
    'everything',
    {
      maxAge: 1_000,
      domain: 'example.com',
      path: '/app',
      partitioned: true,
      priority: 'high',
      sameSite: 'strict',
    },
    true,
  ],
  ['sameSite true, no httpOnly', { sameSite: true, httpOnly: false }, false],
  ['sameSite false', { sameSite: false, priority: 'low' }, false],
  ['sameSite auto, secure', { sameSite: 'auto' }, true],
  ['a fixed expiry', { expires: new Date('2030-01-02T03:04:05Z'), priority: 'medium' }, false],
]

describe('LiveCookie headers', () => {
  it.each(SHAPES)('writes the same bytes as cookie.serialize: %s', (_label, options, secure) => {
    const cookie = new LiveCookie(resolveCookieSettings('sid', options), secure, Date.now())
    expect(cookie.serialize('sid', VALUE)).toBe(reference(cookie, 'sid', VALUE, cookie.expires))
    expect(cookie.serializeClear('sid')).toBe(reference(cookie, 'sid', '', new Date(0)))
  })

  it('refuses a path or domain a handler changed into a header injection', () => {
    const cookie = new LiveCookie(resolveCookieSettings('sid', {}), false, Date.now())
    cookie.path = '/; Domain=evil.example'
    expect(() => cookie.serialize('sid', VALUE)).toThrow(/path/)
    cookie.path = '/'
    cookie.domain = 'example.com\r\nSet-Cookie: x=1'
    expect(() => cookie.serialize('sid', VALUE)).toThrow(/domain/)
  })

  it('still honours a valid path a handler changed', () => {
    const cookie = new LiveCookie(resolveCookieSettings('sid', {}), false, Date.now())
    cookie.path = '/shop'
    expect(cookie.serialize('sid', VALUE)).toBe(reference(cookie, 'sid', VALUE, cookie.expires))
  })
})
