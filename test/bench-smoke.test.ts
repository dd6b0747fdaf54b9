// Keeps `npm run bench` from rotting: every server variant starts, answers the three flows the
// way the bench assumes (and the store reset between measurements works), then stops. No timing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REDIS_VARIANTS, VARIANTS } from '../bench/config.mjs'
import { login, redisAnswers, sessionCookieOf, startServer } from '../bench/harness.mjs'

type Server = Awaited<ReturnType<typeof startServer>>

const redisUp = await redisAnswers()
const variants = VARIANTS.filter((v) => redisUp || !REDIS_VARIANTS.has(v))
const servers = new Map<string, Server>()
// Each server reports `ready` over IPC once it listens; this bound only stops a server that never
// comes up from hanging the suite. Generous on purpose: with both cores busy, starting five Node
// processes that each load Express, zod and a Redis client has taken well over 8 s.
const STARTUP_BOUND_MS = 120_000

async function get(server: Server, path: string, cookie?: string) {
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`, {
    headers: cookie ? { cookie } : {},
  })
  return { status: res.status, cookie: sessionCookieOf(res), body: await res.json() }
}

beforeAll(async () => {
  const started = await Promise.allSettled(
    variants.map((v) => startServer(v, { quiet: true, timeoutMs: STARTUP_BOUND_MS })),
  )
  for (const result of started) {
    if (result.status === 'fulfilled') servers.set(result.value.variant, result.value)
  }
  const failed = started.find((r) => r.status === 'rejected')
  if (failed?.status === 'rejected') throw failed.reason
}, STARTUP_BOUND_MS + 10_000)

afterAll(async () => {
  await Promise.all([...servers.values()].map((s) => s.stop()))
})

describe('bench servers', () => {
  it('bare Express answers every route without a session cookie', async () => {
    const server = servers.get('bare')!
    for (const path of ['/login', '/read', '/write', '/new']) {
      const res = await get(server, path)
      expect(res.status).toBe(200)
      expect(res.cookie).toBeUndefined()
    }
  })

  for (const variant of variants.filter((v) => v !== 'bare')) {
    describe(variant, () => {
      it('sets a cookie on /new, and /read returns what it wrote', async () => {
        const server = servers.get(variant)!
        const created = await get(server, '/new')
        expect(created.status).toBe(200)
        expect(created.cookie).toMatch(/^sid=s%3A/)
        const read = await get(server, '/read', created.cookie)
        expect(read).toEqual({
          status: 200,
          cookie: undefined,
          body: { userId: null, views: 1, items: 0 },
        })
      })

      it('reads a logged-in session unchanged, and /write changes one key', async () => {
        const server = servers.get(variant)!
        const [cookie] = await login(server.port, variant, 1)
        expect((await get(server, '/read', cookie)).body).toEqual({
          userId: 'user-000123',
          views: 0,
          items: 3,
        })
        expect((await get(server, '/write', cookie)).body).toEqual({ views: 1 })
        expect((await get(server, '/write', cookie)).body).toEqual({ views: 2 })
        expect((await get(server, '/read', cookie)).body).toMatchObject({ views: 2, items: 3 })
      })

      it('forgets every session on reset', async () => {
        const server = servers.get(variant)!
        const [cookie] = await login(server.port, variant, 1)
        await server.command('reset')
        expect((await get(server, '/read', cookie)).body).toEqual({
          userId: null,
          views: 0,
          items: 0,
        })
      })
    })
  }
})

describe('bench server as bench/icount.mjs starts it', () => {
  // No valgrind here: the same server with the environment icount.mjs gives it. A growth of one
  // byte makes every 100th request a full GC (a 1 MB young generation: scavenges, so promotions,
  // within 100 requests); the schedule must not change what a client sees.
  it(
    'sends no Date header, and makes the scheduled full GCs',
    async () => {
      const server = await startServer('typed-session', {
        quiet: true,
        timeoutMs: STARTUP_BOUND_MS,
        execArgv: ['--expose-gc', '--max-semi-space-size=1'],
        env: { BENCH_DATE_HEADER: '0', BENCH_GC_GROWTH_BYTES: '1' },
      })
      try {
        const [cookie] = await login(server.port, 'typed-session', 1)
        const before = (await server.command('gc-next')).scheduledGcs as number
        for (let i = 0; i < 200; i++) {
          const res = await fetch(`http://127.0.0.1:${server.port}/read`, { headers: { cookie } })
          expect(res.status).toBe(200)
          expect(res.headers.get('date')).toBeNull()
          expect(await res.json()).toEqual({ userId: 'user-000123', views: 0, items: 3 })
        }
        // The one asked for by gc-next, and two from the schedule (requests 100 and 200).
        const after = (await server.command('cpu')).scheduledGcs as number
        expect(after - before).toBe(3)
      } finally {
        await server.stop()
      }
    },
    STARTUP_BOUND_MS + 60_000,
  )

  it('sends a Date header without BENCH_DATE_HEADER=0, as npm run bench measures', async () => {
    const server = servers.get('bare')!
    const res = await fetch(`http://127.0.0.1:${server.port}/read`)
    expect(res.headers.get('date')).toMatch(/GMT$/)
  })
})
