import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'

/** The request as the session sees it: what it sets, and what Express adds (`secure`, `originalUrl`). */
export type SessionRequest = IncomingMessage & {
  session?: unknown
  sessionID?: string
  sessionStore?: unknown
  flash?: unknown
  secure?: boolean
  originalUrl?: string
}

/**
 * Whether the request path is inside the cookie path, by RFC 6265 5.1.4 path-match (query string
 * excluded). express-session's plain prefix test let `/admin` match `/administrator`
 * (@fastify/session #169): a session started there for a cookie the browser never sends back.
 */
export function pathMatches(url: string, path: string): boolean {
  if (path === '/') return true
  const query = url.indexOf('?')
  const pathname = query === -1 ? url : url.slice(0, query)
  if (!pathname.startsWith(path)) return false
  return pathname.length === path.length || path.endsWith('/') || pathname[path.length] === '/'
}

/**
 * Whether the request arrived over TLS, as express-session decides it: the socket, or with
 * `proxy: true` the first `X-Forwarded-Proto`, or otherwise Express's `req.secure` (which honours
 * `trust proxy`). A spoofed header is ignored unless a proxy is trusted.
 */
export function isSecure(req: SessionRequest, proxy: boolean | undefined): boolean {
  if ((req.socket as TLSSocket | undefined)?.encrypted === true) return true
  if (proxy === false) return false
  if (proxy !== true) return req.secure === true
  const header = req.headers['x-forwarded-proto']
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim().toLowerCase()
  return first === 'https'
}
