import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A server listening on a free loopback port, closed by `close()`. */
export interface TestServer {
  readonly url: string
  readonly server: Server
  close(): Promise<void>
}

/** Start `handler` (an Express app or a plain listener) on 127.0.0.1, port 0. */
export async function listen(handler: RequestListener): Promise<TestServer> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}

/** One HTTP response, with its body read and its `Set-Cookie` headers split. */
export interface TestResponse {
  readonly status: number
  readonly body: string
  readonly headers: Headers
  readonly setCookies: string[]
}

/**
 * A browser-like client for one server: keeps cookies from `Set-Cookie` (honouring deletion by an
 * expired date or Max-Age=0) and sends them back, so tests follow a session across requests.
 */
export class CookieClient {
  readonly cookies = new Map<string, string>()

  constructor(readonly baseUrl: string) {}

  async request(
    path: string,
    init: RequestInit & { rawCookie?: string } = {},
  ): Promise<TestResponse> {
    const headers = new Headers(init.headers)
    const cookie = init.rawCookie ?? this.cookieHeader()
    if (cookie !== '') headers.set('cookie', cookie)
    const response = await fetch(this.baseUrl + path, { ...init, headers, redirect: 'manual' })
    const body = await response.text()
    const setCookies = response.headers.getSetCookie()
    for (const line of setCookies) this.store(line)
    return { status: response.status, body, headers: response.headers, setCookies }
  }

  get(path: string): Promise<TestResponse> {
    return this.request(path)
  }

  post(path: string, body?: unknown): Promise<TestResponse> {
    return this.request(path, {
      method: 'POST',
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    })
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  private store(line: string): void {
    const [pair = '', ...attributes] = line.split(';')
    const eq = pair.indexOf('=')
    const name = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    const expired = attributes.some((attribute) => {
      const [key = '', val = ''] = attribute.split('=').map((part) => part.trim())
      if (key.toLowerCase() === 'max-age') return Number(val) <= 0
      if (key.toLowerCase() === 'expires') return new Date(val).getTime() <= Date.now()
      return false
    })
    if (expired || value === '') this.cookies.delete(name)
    else this.cookies.set(name, value)
  }
}

/** Parse one `Set-Cookie` line into its name, value and attributes (lower-cased keys). */
export function parseSetCookie(line: string): {
  name: string
  value: string
  attributes: Map<string, string>
} {
  const [pair = '', ...rest] = line.split(';')
  const eq = pair.indexOf('=')
  const attributes = new Map<string, string>()
  for (const part of rest) {
    const [key = '', ...value] = part.split('=')
    attributes.set(key.trim().toLowerCase(), value.join('=').trim())
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes }
}
