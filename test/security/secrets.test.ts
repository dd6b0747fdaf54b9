// Issue 11: the verified-cookie cache and the secret list. The cache must hold copies (a cookie
// value sliced out of a 14 KB Cookie header kept the whole header alive), stay bounded in bytes,
// and forget what a removed secret verified; secrets may be Buffers, as in express-session.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { sign } from 'cookie-signature'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { CookieVerifier } from '../../src/cookie/signature.js'
import { MemoryStore, type SessionEvent, session } from '../../src/index.js'
import {
  idOf,
  listenRaw,
  OLD_SECRET,
  type RawServer,
  randomId,
  rawGet,
  SECRET,
  signedCookie,
} from './support.js'

const schema = z.object({ user: z.string().optional() })

let raw: RawServer | undefined
afterEach(async () => {
  await raw?.close()
  raw = undefined
})

/** A server whose `/login` sets `user` and whose `/whoami` answers it, on the given secret(s). */
async function start(secret: Parameters<typeof session>[0]['secret'], store = new MemoryStore()) {
  const events: SessionEvent[] = []
  const middleware = session({ schema, secret, store, onEvent: (event) => events.push(event) })
  raw = await listenRaw((req, res) => {
    middleware(req, res, () => {
      const s = (req as unknown as { session: { user?: string }; sessionID: string }).session
      if (req.url === '/login') s.user = 'alice'
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({ user: s.user ?? null, id: (req as { sessionID?: string }).sessionID }),
      )
    })
  })
  return { server: raw, events, store }
}

function cookieOf(setCookies: string[]): string {
  return setCookies[0]!.split(';')[0]!.slice('sid='.length)
}

/** Heap in use after full collections (V8's `gc`, exposed at run time for this test file). */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

describe('the verified-cookie cache', () => {
  it('keeps a copy of each cookie value, not the Cookie header it was cut from', async () => {
    const { server } = await start(SECRET)
    const padding = `pad=${'p'.repeat(14 * 1024)}`
    const count = 1_000
    // Warm up (JIT, agent sockets) before measuring.
    for (let i = 0; i < 50; i++)
      await rawGet(server, '/', `${padding}; sid=s:${sign(randomId(), SECRET)}`)
    const before = heapAfterGc()
    for (let i = 0; i < count; i++) {
      // A raw value (no `%`): the cookie parser hands back a slice of the header string.
      const response = await rawGet(server, '/', `${padding}; sid=s:${sign(randomId(), SECRET)}`)
      expect(response.status).toBe(200)
    }
    const grown = heapAfterGc() - before
    // Holding the headers would be about 14 MB; a copy of each value about 0.3 MB.
    expect(grown).toBeLessThan(5 * 1024 * 1024)
  })

  it('stays within its byte bound whatever the ids are', () => {
    const verifier = new CookieVerifier([SECRET])
    for (let i = 0; i < 12_000; i++) {
      const id = `${randomId()}${'x'.repeat(200)}`
      expect(verifier.verify(`s:${sign(id, SECRET)}`)?.id).toBe(id)
    }
    expect(verifier.cachedBytes).toBeGreaterThan(3 * 1024 * 1024)
    expect(verifier.cachedBytes).toBeLessThanOrEqual(4 * 1024 * 1024)
  })
})

describe('the secret list', () => {
  it('stops verifying cookies of a secret removed at run time, cached ones included', async () => {
    const secrets = [SECRET, OLD_SECRET]
    const { server, events, store } = await start(secrets)
    const id = randomId()
    await store.set(id, {
      cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' },
      user: 'alice',
    })
    const oldCookie = signedCookie(id, OLD_SECRET)
    // Verified (and remembered) while the old secret is still in the list.
    expect(JSON.parse((await rawGet(server, '/', `sid=${oldCookie}`)).body)).toEqual({
      user: 'alice',
      id,
    })
    secrets.pop()
    const after = await rawGet(server, '/', `sid=${oldCookie}`)
    expect(JSON.parse(after.body)).toMatchObject({ user: null })
    expect(JSON.parse(after.body).id).not.toBe(id)
    expect(events.at(-1)).toEqual({ type: 'invalid_signature' })
  })

  it('accepts Buffer secrets, signing as express-session does with the same bytes', async () => {
    const key = Buffer.from(SECRET)
    const { server } = await start([Buffer.from('a-newer-secret-as-bytes-0123456789abcdef'), key])
    const login = await rawGet(server, '/login')
    const cookie = cookieOf(login.setCookies)
    expect(JSON.parse((await rawGet(server, '/', `sid=${cookie}`)).body)).toMatchObject({
      user: 'alice',
    })
    // A cookie signed with the string form of the second secret verifies: the key is the bytes.
    const id = idOf(cookie)
    const { server: again } = await start(
      [Buffer.from('a-newer-secret-as-bytes-0123456789abcdef'), key],
      new MemoryStore(),
    )
    expect((await rawGet(again, '/', `sid=${signedCookie(id, SECRET)}`)).status).toBe(200)
  })

  it('refuses an empty Buffer and a Buffer equal to a string secret in the list', () => {
    expect(() => session({ schema, secret: Buffer.alloc(0) })).toThrow(/non-empty string or Buffer/)
    expect(() => session({ schema, secret: [SECRET, Buffer.from(SECRET)] })).toThrow(/twice/)
  })
})
