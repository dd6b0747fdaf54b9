// Real Express 5 apps with session({ schema, secret, store }) over connect-redis 9 and the
// machine's Redis (own key prefix per run): TTLs, touch, planted records, two app servers.
import { RedisStore } from 'connect-redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectRedis, REDIS_URL, requireRedis, uniqueName } from '../fixtures/services.js'
import type { TestServer } from '../helpers/http.js'
import {
  clientFor,
  FRESH,
  MAX_AGE_MS,
  plantedCookie,
  sessionIdOf,
  shareCookies,
  snapshotOf,
  startApp,
} from './http-support.js'

type Client = Awaited<ReturnType<typeof connectRedis>>

const prefix = `${uniqueName('ts-http')}:`
const clients: Client[] = []
const servers: TestServer[] = []

async function redisClient(): Promise<Client> {
  const client = await connectRedis(REDIS_URL)
  clients.push(client)
  return client
}

async function app(client: Client, options: { rolling?: boolean } = {}) {
  const store = new RedisStore({ client, prefix })
  const server = await startApp(store, options)
  servers.push(server)
  return { store, server }
}

/** Count set / touch calls on a RedisStore, keeping each method's arity (the adapter reads it). */
function countCalls(store: RedisStore): { sets: number; touches: number } {
  const counts = { sets: 0, touches: 0 }
  const set = store.set.bind(store)
  const touch = store.touch.bind(store)
  store.set = (sid, sess, cb) => {
    counts.sets++
    return set(sid, sess, cb)
  }
  store.touch = (sid, sess, cb) => {
    counts.touches++
    return touch(sid, sess, cb)
  }
  return counts
}

let redis: Client

beforeAll(async () => {
  await requireRedis()
  redis = await redisClient()
})

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(keys)
  for (const c of clients) c.destroy()
})

describe('typed-session over connect-redis 9 (HTTP)', () => {
  it('saves with a Redis TTL that matches the cookie expiry', async () => {
    const { server } = await app(await redisClient())
    const browser = clientFor(server)
    const login = await browser.post('/login?user=ada')
    expect(login.status).toBe(200)
    const id = sessionIdOf(browser)
    const key = prefix + id

    const ttlSeconds = await redis.ttl(key)
    const stored = JSON.parse((await redis.get(key))!) as {
      userId: string
      cookie: { expires: string }
    }
    expect(stored.userId).toBe('ada')
    const storedExpiry = Date.parse(stored.cookie.expires)
    expect(Math.abs(storedExpiry - (Date.now() + MAX_AGE_MS))).toBeLessThan(5_000)
    expect(Math.abs(Date.now() + ttlSeconds * 1000 - storedExpiry)).toBeLessThan(2_000)

    const setCookie = login.setCookies.find((c) => c.startsWith('sid='))!
    const expiresAttr = /Expires=([^;]+)/i.exec(setCookie)?.[1]
    expect(expiresAttr).toBeDefined()
    // Set-Cookie dates have second precision.
    expect(Math.abs(Date.parse(expiresAttr!) - storedExpiry)).toBeLessThan(1_000)
  })

  it('with rolling, a read-only request touches: TTL extended, data not rewritten', async () => {
    const { store, server } = await app(await redisClient(), { rolling: true })
    const browser = clientFor(server)
    await browser.post('/login?user=grace')
    await browser.post('/cart?sku=tea')
    const key = prefix + sessionIdOf(browser)

    // Replace the stored value by a byte-different but equal form and shorten the TTL: a rewrite
    // would put connect-redis' compact JSON back, a touch leaves these bytes alone.
    const compact = (await redis.get(key))!
    const pretty = JSON.stringify(JSON.parse(compact), null, 2)
    await redis.set(key, pretty, { expiration: { type: 'EX', value: 30 } })
    expect(await redis.ttl(key)).toBeLessThanOrEqual(30)

    const counts = countCalls(store)
    const read = await browser.get('/data')
    expect(read.status).toBe(200)
    expect(snapshotOf(read.body).data).toMatchObject({
      userId: 'grace',
      cart: [{ sku: 'tea', qty: 1 }],
    })
    expect(counts).toEqual({ sets: 0, touches: 1 })
    expect(await redis.get(key)).toBe(pretty)
    const ttlSeconds = await redis.ttl(key)
    expect(ttlSeconds).toBeGreaterThan(MAX_AGE_MS / 1000 - 5)
    expect(ttlSeconds).toBeLessThanOrEqual(MAX_AGE_MS / 1000)
    // The browser got the renewed expiry too.
    expect(read.setCookies.some((c) => c.startsWith('sid='))).toBe(true)
  })

  it('without rolling, a read-only request neither writes nor touches', async () => {
    const { store, server } = await app(await redisClient())
    const browser = clientFor(server)
    await browser.post('/login?user=linus')
    const counts = countCalls(store)
    const read = await browser.get('/data')
    expect(snapshotOf(read.body).data.userId).toBe('linus')
    expect(counts).toEqual({ sets: 0, touches: 0 })
  })

  describe('records planted directly in Redis follow the validation policy (fresh session)', () => {
    const planted: Record<string, () => string> = {
      'wrong types': () =>
        JSON.stringify({ userId: 42, views: 'many', role: 'root', cookie: plantedCookie() }),
      'an old shape': () =>
        JSON.stringify({
          user: { id: 'u1' },
          cart: { sku: 'a', qty: '1' },
          cookie: plantedCookie(),
        }),
      'junk JSON': () => '{"userId": "mallory", "cookie": {',
      'not JSON at all': () => '\u0000\u0001binary',
      'a JSON array': () => '[1,2,3]',
      'a JSON string': () => '"userId=mallory"',
      'no cookie': () => JSON.stringify({ userId: 'mallory', views: 1 }),
      'an operator object': () => JSON.stringify({ userId: { $gt: '' }, cookie: plantedCookie() }),
      'a wrong nested type': () =>
        JSON.stringify({
          userId: 'mallory',
          cart: [{ sku: 'a', qty: 1.5 }],
          cookie: plantedCookie(),
        }),
    }

    for (const [name, value] of Object.entries(planted)) {
      it(`${name}: the handler sees a fresh, valid session`, async () => {
        const { server } = await app(await redisClient())
        const browser = clientFor(server)
        await browser.post('/login?user=victim')
        await redis.set(prefix + sessionIdOf(browser), value(), {
          expiration: { type: 'EX', value: 600 },
        })

        const read = await browser.get('/data')
        expect(read.status).toBe(200)
        const seen = snapshotOf(read.body)
        expect(seen.data).toEqual(FRESH)
        expect(seen.valid).toBe(true)
        expect(seen.prototypePolluted).toBe(false)
      })
    }

    it('__proto__ keys: never applied as a prototype, never seen by the handler', async () => {
      const { server } = await app(await redisClient())
      const browser = clientFor(server)
      await browser.post('/login?user=victim')
      const raw =
        `{"__proto__":{"role":"admin","userId":"root","polluted":true},` +
        `"cart":[{"sku":"a","qty":1,"__proto__":{"admin":true}}],"cookie":${JSON.stringify(plantedCookie())}}`
      await redis.set(prefix + sessionIdOf(browser), raw, {
        expiration: { type: 'EX', value: 600 },
      })

      const read = await browser.get('/data')
      expect(read.status).toBe(200)
      const seen = snapshotOf(read.body)
      // The record is valid once `__proto__` is ignored: the cart survives, the escalation does not.
      expect(seen.data.role).toBe('user')
      expect(seen.data.userId).toBeUndefined()
      expect(seen.data.cart).toEqual([{ sku: 'a', qty: 1 }])
      expect(seen.keys).not.toContain('__proto__')
      expect(seen.valid).toBe(true)
      expect(seen.prototypePolluted).toBe(false)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })
  })

  it('two app servers with their own clients share sessions through one Redis', async () => {
    const a = await app(await redisClient())
    const b = await app(await redisClient())
    expect(a.store.client).not.toBe(b.store.client)
    const onA = clientFor(a.server)
    const onB = clientFor(b.server)

    await onA.post('/login?user=alan')
    shareCookies(onA, onB)
    const seenOnB = await onB.get('/data')
    expect(snapshotOf(seenOnB.body).data).toMatchObject({ userId: 'alan', views: 1 })

    const changed = await onB.post('/cart?sku=book')
    expect(changed.status).toBe(200)
    shareCookies(onB, onA)
    const seenOnA = await onA.get('/data')
    expect(snapshotOf(seenOnA.body).data).toMatchObject({
      userId: 'alan',
      cart: [{ sku: 'book', qty: 1 }],
    })

    const id = sessionIdOf(onA)
    expect((await onB.post('/logout')).status).toBe(200)
    expect(await redis.get(prefix + id)).toBeNull()
    // The old cookie on server A: an anonymous, fresh session.
    const afterLogout = await onA.get('/data')
    expect(snapshotOf(afterLogout.body).data).toEqual(FRESH)
  })
})
