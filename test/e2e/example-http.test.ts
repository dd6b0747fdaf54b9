import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { SessionStore } from 'typed-session'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../examples/app.js'

/**
 * A visitor: carries the `sid` cookie across requests by hand (like a browser, minus the browser)
 * and reads the CSRF token from the last page it saw.
 */
class Visitor {
  sid: string | undefined
  csrf = ''
  constructor(readonly base: string) {}

  async get(path: string): Promise<{ status: number; html: string; res: Response }> {
    return this.send(path, { method: 'GET' })
  }

  async post(
    path: string,
    form: Record<string, string>,
  ): Promise<{ status: number; html: string; res: Response }> {
    return this.send(path, { method: 'POST', body: new URLSearchParams(form) })
  }

  /** POST with the session's own CSRF token added. */
  async submit(
    path: string,
    form: Record<string, string>,
  ): Promise<{ status: number; html: string; res: Response }> {
    return this.post(path, { _csrf: this.csrf, ...form })
  }

  private async send(
    path: string,
    init: RequestInit,
  ): Promise<{ status: number; html: string; res: Response }> {
    const headers: Record<string, string> = this.sid ? { cookie: `sid=${this.sid}` } : {}
    const res = await fetch(this.base + path, { ...init, headers, redirect: 'manual' })
    for (const line of res.headers.getSetCookie()) {
      const match = /^sid=([^;]*)/.exec(line)
      if (!match) continue
      const cleared =
        match[1] === '' || /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line)
      this.sid = cleared ? undefined : match[1]
    }
    const html = await res.text()
    const token = /name="_csrf" value="([^"]+)"/.exec(html)
    if (token?.[1]) this.csrf = token[1]
    return { status: res.status, html, res }
  }
}

/** A store that works until told to fail, to show a store outage as a page, not a stack trace. */
function flakyStore(): { store: SessionStore; fail(): void } {
  const records = new Map<string, unknown>()
  let failing = false
  const check = (): void => {
    if (failing) throw new Error('store is down')
  }
  return {
    fail: () => {
      failing = true
    },
    store: {
      async get(id: string) {
        check()
        return records.get(id) ?? null
      },
      async set(id: string, record: unknown) {
        check()
        records.set(id, structuredClone(record))
      },
      async destroy(id: string) {
        check()
        records.delete(id)
      },
    },
  }
}

const SECRET = 'example-http-test-secret-0123456789abcdef'
const flaky = flakyStore()
const logged: unknown[] = []
let server: Server
let base = ''

beforeAll(async () => {
  const app = createApp({
    secret: SECRET,
    store: flaky.store,
    logError: (err: unknown) => logged.push(err),
  })
  server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** A visitor who has loaded the shop once, so it has a session and a CSRF token. */
async function newVisitor(): Promise<Visitor> {
  const visitor = new Visitor(base)
  const { status } = await visitor.get('/')
  expect(status).toBe(200)
  expect(visitor.sid).toMatch(/^s%3A/)
  expect(visitor.csrf).not.toBe('')
  return visitor
}

/** Pages must explain, not dump internals. */
function expectNoStackTrace(html: string): void {
  expect(html).not.toMatch(/\bat .+\(.+:\d+:\d+\)|node:internal|Error: /)
}

async function cartRows(visitor: Visitor): Promise<string[]> {
  const { html } = await visitor.get('/cart')
  return [...html.matchAll(/<tr data-sku="([^"]+)">[\s\S]*?name="qty" value="(\d+)"/g)].map(
    (m) => `${m[1]}:${m[2]}`,
  )
}

describe('example app over HTTP', () => {
  it('sends every page with Cache-Control: no-store and counts visits', async () => {
    const visitor = await newVisitor()
    const { res, html } = await visitor.get('/cart')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(html).toContain('<span id="views">2</span>')
  })

  it('adds to the cart and shows the "added" flash exactly once', async () => {
    const visitor = await newVisitor()
    const added = await visitor.submit('/cart/add', { sku: 'tea', qty: '2' })
    expect(added.status).toBe(303)
    expect(added.res.headers.get('location')).toBe('/')
    expect((await visitor.get('/')).html.match(/Added 2 × Green tea/g)).toHaveLength(1)
    expect((await visitor.get('/')).html).not.toContain('Added 2')
    expect(await cartRows(visitor)).toEqual(['tea:2'])
  })

  it('answers a POST without a CSRF token with a 403 page and changes nothing', async () => {
    const visitor = await newVisitor()
    const { status, html } = await visitor.post('/cart/add', { sku: 'tea', qty: '1' })
    expect(status).toBe(403)
    expect(html).toContain('Form rejected')
    expectNoStackTrace(html)
    expect(await cartRows(visitor)).toEqual([])
  })

  it('answers a wrong CSRF token, or another session token, with 403', async () => {
    const visitor = await newVisitor()
    const other = await newVisitor()
    const forged = visitor.csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))
    for (const token of [forged, other.csrf, 'short', '']) {
      const { status, html } = await visitor.post('/cart/add', {
        _csrf: token,
        sku: 'tea',
        qty: '1',
      })
      expect(status, `token ${JSON.stringify(token)}`).toBe(403)
      expect(html).toContain('Form rejected')
    }
    // Logging in is a form too.
    const login = await visitor.post('/login', { username: 'alice', password: 'wonderland' })
    expect(login.status).toBe(403)
    expect(await cartRows(visitor)).toEqual([])
  })

  it('answers an unknown product with a 404 page that escapes the name', async () => {
    const visitor = await newVisitor()
    const { status, html } = await visitor.submit('/cart/add', {
      sku: '<script>x</script>',
      qty: '1',
    })
    expect(status).toBe(404)
    expect(html).toContain('Unknown product')
    expect(html).toContain('&#60;script&#62;x&#60;/script&#62;')
    expect(html).not.toContain('<script>')
    expectNoStackTrace(html)
    expect((await visitor.submit('/cart/remove', { sku: 'nope' })).status).toBe(404)
  })

  it('answers a quantity that is not a whole number from 1 to 99 with a 400 page', async () => {
    const visitor = await newVisitor()
    for (const qty of ['0', '-1', '1.5', 'abc', '', '100', '1e1', ' 2']) {
      const { status, html } = await visitor.submit('/cart/add', { sku: 'mug', qty })
      expect(status, `qty ${JSON.stringify(qty)}`).toBe(400)
      expect(html).toContain('Quantity must be a whole number from 1 to 99.')
      expectNoStackTrace(html)
    }
    expect((await visitor.submit('/cart/add', { sku: 'mug' })).status).toBe(400)
    await visitor.submit('/cart/add', { sku: 'mug', qty: '1' })
    expect((await visitor.submit('/cart/update', { sku: 'mug', qty: '0' })).status).toBe(400)
    expect(await cartRows(visitor)).toEqual(['mug:1'])
  })

  it('gives a tampered or garbage cookie a fresh session, not an error', async () => {
    const visitor = await newVisitor()
    await visitor.submit('/cart/add', { sku: 'tea', qty: '3' })
    const genuine = visitor.sid ?? ''
    const last = genuine.at(-1) === 'A' ? 'B' : 'A'
    for (const cookie of [genuine.slice(0, -1) + last, 'garbage', 's%3Aabc.def']) {
      const attacker = new Visitor(base)
      attacker.sid = cookie
      const { status, html } = await attacker.get('/session')
      expect(status, `cookie ${cookie}`).toBe(200)
      expect(attacker.sid).toBeDefined()
      expect(attacker.sid).not.toBe(cookie)
      expect(html).toContain('&#34;views&#34;: 1')
      expect(html).toContain('&#34;cart&#34;: []')
    }
    // The genuine cookie still holds the cart.
    expect(await cartRows(visitor)).toEqual(['tea:3'])
  })

  it('rejects a wrong password, then signs in with a new session id and keeps the cart', async () => {
    const visitor = await newVisitor()
    await visitor.submit('/cart/add', { sku: 'beans', qty: '2' })
    const anonymousSid = visitor.sid

    const wrong = await visitor.submit('/login', { username: 'alice', password: 'nope' })
    expect(wrong.status).toBe(302)
    expect(wrong.res.headers.get('location')).toBe('/login')
    expect((await visitor.get('/login')).html.match(/Wrong user name or password\./g)).toHaveLength(
      1,
    )
    expect((await visitor.get('/login')).html).not.toContain('Wrong user name')
    const unknown = await visitor.submit('/login', { username: 'mallory', password: 'x' })
    expect(unknown.res.headers.get('location')).toBe('/login')

    const right = await visitor.submit('/login', { username: 'alice', password: 'wonderland' })
    expect(right.status).toBe(303)
    expect(right.res.headers.get('location')).toBe('/account')
    expect(visitor.sid).toBeDefined()
    expect(visitor.sid).not.toBe(anonymousSid)
    const account = await visitor.get('/account')
    expect(account.html).toContain('Signed in as <strong>Alice</strong>')
    expect(account.html.match(/Welcome, Alice\./g)).toHaveLength(1)
    // This store keeps no session index: the page says so rather than failing.
    expect(account.html).toContain('This session store cannot list sessions.')
    expect(account.html).not.toContain('Sign out other devices')
    expect(await cartRows(visitor)).toEqual(['beans:2'])

    // The pre-login id is dead: it neither authenticates nor holds the cart.
    const stale = new Visitor(base)
    stale.sid = anonymousSid
    expect(await cartRows(stale)).toEqual([])

    // Sign out: the cookie is cleared and the logged-in id no longer authenticates.
    const loggedInSid = visitor.sid
    const out = await visitor.submit('/logout', {})
    expect(out.status).toBe(303)
    expect(visitor.sid).toBeUndefined()
    const replay = new Visitor(base)
    replay.sid = loggedInSid
    const denied = await replay.get('/account')
    expect(denied.status).toBe(302)
    expect(denied.res.headers.get('location')).toBe('/login')
  })

  it('answers an unknown page with a 404 page', async () => {
    const { status, html } = await new Visitor(base).get('/no/such/page')
    expect(status).toBe(404)
    expect(html).toContain('Page not found')
  })

  // Last: it breaks the shared store.
  it('shows a plain 5xx page, not a stack trace, when the store fails', async () => {
    const visitor = await newVisitor()
    flaky.fail()
    const { status, html } = await visitor.get('/cart')
    // typed-session reports store outages as 503 (ERR_SESSION_STORE); any 5xx page will do.
    expect(status).toBeGreaterThanOrEqual(500)
    expect(html).toContain('Something went wrong')
    expectNoStackTrace(html)
    expect(html).not.toContain('store is down')
    expect(logged.length).toBeGreaterThan(0)
  })
})
