// Redis stopped mid-test under a real Express 5 app: requests fail fast through `next` (503),
// the process keeps serving, and after the restart old sessions are still there.
import { RedisStore } from 'connect-redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connectRedis,
  disposeAllRedisServers,
  type RedisServer,
  startRedisServer,
  uniqueName,
} from '../fixtures/services.js'
import type { CookieClient, TestServer } from '../helpers/http.js'
import { clientFor, snapshotOf, startApp } from './http-support.js'

const STORE_TIMEOUT_MS = 500
const SLACK_MS = 500

let redis: RedisServer
let client: Awaited<ReturnType<typeof connectRedis>>
let server: TestServer

beforeAll(async () => {
  redis = await startRedisServer()
  client = await connectRedis(redis.url)
  server = await startApp(new RedisStore({ client, prefix: `${uniqueName('ts-http-fault')}:` }), {
    storeTimeoutMs: STORE_TIMEOUT_MS,
  })
})

afterAll(async () => {
  await server?.close()
  client?.destroy()
  await redis?.dispose()
  await disposeAllRedisServers()
})

async function timed(browser: CookieClient, method: 'GET' | 'POST', path: string) {
  const started = performance.now()
  const response = await browser.request(path, { method })
  return { response, elapsedMs: performance.now() - started }
}

describe('typed-session over connect-redis when Redis stops and restarts (HTTP)', () => {
  it('answers 503 fast while Redis is down, keeps serving, and finds old sessions after the restart', async () => {
    const browser = clientFor(server)
    const login = await browser.post('/login?user=margaret')
    expect(login.status).toBe(200)
    await browser.post('/cart?sku=lamp')

    const pid = redis.pid!
    await redis.stop()
    expect(() => process.kill(pid, 0)).toThrow()

    for (const [method, path] of [
      ['GET', '/data'],
      ['POST', '/views'],
      ['POST', '/logout'],
    ] as const) {
      const { response, elapsedMs } = await timed(browser, method, path)
      expect(response.status, `${method} ${path}: ${response.body}`).toBe(503)
      expect(response.body).toMatch(/^ERR_SESSION_STORE: /)
      expect(elapsedMs).toBeLessThan(STORE_TIMEOUT_MS + SLACK_MS)
    }
    // A visitor without a cookie does not need the store until it writes.
    const anonymous = await clientFor(server).get('/data')
    expect(anonymous.status).toBe(200)
    // The process is alive and serving routes outside the session.
    expect((await browser.get('/health')).status).toBe(200)

    await redis.start()
    expect(redis.pid).not.toBe(pid)
    // The client reconnects on its own; bounded wait for the first successful request.
    const deadline = Date.now() + 10_000
    let read = await browser.get('/data')
    while (read.status !== 200 && Date.now() < deadline) read = await browser.get('/data')
    expect(read.status, read.body).toBe(200)
    expect(snapshotOf(read.body).data).toMatchObject({
      userId: 'margaret',
      cart: [{ sku: 'lamp', qty: 1 }],
    })

    const write = await browser.post('/views')
    expect(write.status).toBe(200)
    expect((await browser.post('/logout')).status).toBe(200)
  })
})
