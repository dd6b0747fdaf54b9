// "Sign out everywhere" through real HTTP on one process (issue 12): the index follows logins,
// logouts, regenerate, destroy and expiry; revocation ends sessions for good, in-flight requests
// included; the epoch check ends sessions without any index.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MemoryStore, type SessionRecord, type SessionStore } from '../../src/index.js'
import { CookieClient } from '../helpers/http.js'
import { idOf, until } from '../security/support.js'
import { type OwnerApp, otherProcessView, startOwnerApp } from './support.js'

let app: OwnerApp | undefined
afterEach(async () => {
  vi.useRealTimers()
  await app?.close()
  app = undefined
})

type Listed = {
  handle: string
  createdAt: string
  lastActiveAt: string
  expiresAt: string | null
  label?: string
  current: boolean
}

async function login(url: string, user: string, device?: string): Promise<CookieClient> {
  const client = new CookieClient(url)
  const query = device === undefined ? '' : `&device=${encodeURIComponent(device)}`
  const res = await client.post(`/login?user=${user}${query}`)
  expect(res.status).toBe(200)
  return client
}

async function whoIs(client: CookieClient): Promise<string | null> {
  return (JSON.parse((await client.get('/me')).body) as { user: string | null }).user
}

async function list(client: CookieClient): Promise<Listed[]> {
  const res = await client.get('/sessions')
  expect(res.status).toBe(200)
  return JSON.parse(res.body) as Listed[]
}

function sessionIdOf(client: CookieClient): string {
  return idOf(decodeURIComponent(client.cookies.get('sid')!))
}

describe('the session index on MemoryStore', () => {
  it('lists every one of 20 concurrent logins of one user, each with its own handle', async () => {
    app = await startOwnerApp()
    const clients = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(app!.url, 'alice', `device ${i}`)),
    )
    await login(app.url, 'bob')
    const listed = await list(clients[0]!)
    expect(listed).toHaveLength(20)
    expect(new Set(listed.map((entry) => entry.handle)).size).toBe(20)
    expect(new Set(listed.map((entry) => entry.label))).toEqual(
      new Set(Array.from({ length: 20 }, (_, i) => `device ${i}`)),
    )
    expect(listed.filter((entry) => entry.current)).toHaveLength(1)
    // The handle names the session without being its id (nor anything a cookie could carry).
    const ids = clients.map(sessionIdOf)
    for (const entry of listed) {
      expect(ids).not.toContain(entry.handle)
      expect(JSON.stringify(entry)).not.toMatch(new RegExp(ids.join('|')))
    }
  })

  it('reports creation, last activity and expiry of each session', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T10:00:00Z'), toFake: ['Date'] })
    app = await startOwnerApp({ maxAge: 3_600_000 })
    const client = await login(app.url, 'alice', 'laptop')
    vi.setSystemTime(new Date('2026-03-01T10:20:00Z'))
    await client.post('/visit')
    const [entry] = await list(client)
    expect(entry).toEqual({
      handle: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      createdAt: '2026-03-01T10:00:00.000Z',
      lastActiveAt: '2026-03-01T10:20:00.000Z',
      expiresAt: '2026-03-01T11:20:00.000Z',
      label: 'laptop',
      current: true,
    })
  })

  it('signs out the other devices and keeps this one', async () => {
    app = await startOwnerApp()
    const devices = await Promise.all(Array.from({ length: 5 }, () => login(app!.url, 'alice')))
    const bob = await login(app.url, 'bob')
    const [self, ...others] = devices
    const res = await self!.post('/sign-out-others')
    expect(JSON.parse(res.body)).toEqual({ ended: 4 })
    expect(await whoIs(self!)).toBe('alice')
    for (const other of others) expect(await whoIs(other)).toBeNull()
    expect(await whoIs(bob)).toBe('bob')
    expect(await list(self!)).toHaveLength(1)
    expect(app.events.filter((event) => event.type === 'revoked')).toHaveLength(4)
    expect(
      app.events.filter((event) => event.type === 'revoked' && event.reason !== 'revoked'),
    ).toEqual([])
  })

  it('revokes one session by its handle, and only for its owner', async () => {
    app = await startOwnerApp()
    const phone = await login(app.url, 'alice', 'phone')
    const laptop = await login(app.url, 'alice', 'laptop')
    const mallory = await login(app.url, 'mallory')
    const phoneHandle = (await list(laptop)).find((entry) => entry.label === 'phone')!.handle
    // Another user's handle does nothing.
    const wrongOwner = await mallory.post(`/revoke-one?handle=${phoneHandle}`)
    expect(JSON.parse(wrongOwner.body)).toEqual({ ended: false })
    expect(await whoIs(phone)).toBe('alice')
    const res = await laptop.post(`/revoke-one?handle=${phoneHandle}`)
    expect(JSON.parse(res.body)).toEqual({ ended: true })
    expect(await whoIs(phone)).toBeNull()
    expect(await whoIs(laptop)).toBe('alice')
    expect((await list(laptop)).map((entry) => entry.label)).toEqual(['laptop'])
  })

  it('follows logout, logout without destroy, a new login and regenerate', async () => {
    app = await startOwnerApp()
    const a = await login(app.url, 'alice', 'a')
    const b = await login(app.url, 'alice', 'b')
    const c = await login(app.url, 'alice', 'c')
    const d = await login(app.url, 'alice', 'd')
    const handleOf = async (label: string) =>
      (await list(d)).find((entry) => entry.label === label)?.handle
    const before = await handleOf('d')
    await a.post('/logout')
    await b.post('/forget-user')
    await c.post('/login?user=carol&device=c')
    await d.post('/change-password') // regenerate, keeping the user: a new sign-in
    const labels = (await list(d)).map((entry) => entry.label)
    expect(labels).toEqual(['d'])
    expect(await handleOf('d')).not.toBe(before)
    expect((await list(c)).map((entry) => entry.label)).toEqual(['c'])
  })

  it('drops expired sessions from the list', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T10:00:00Z'), toFake: ['Date'] })
    app = await startOwnerApp({ maxAge: 60_000 })
    await login(app.url, 'alice', 'old')
    vi.setSystemTime(new Date('2026-03-01T10:00:30Z'))
    const fresh = await login(app.url, 'alice', 'new')
    vi.setSystemTime(new Date('2026-03-01T10:01:10Z'))
    expect((await list(fresh)).map((entry) => entry.label)).toEqual(['new'])
  })

  it('lets no request in flight write a revoked session back (0 of 20)', async () => {
    app = await startOwnerApp()
    const owner = await login(app.url, 'alice', 'owner')
    const victims = await Promise.all(Array.from({ length: 20 }, () => login(app!.url, 'alice')))
    const slow = victims.map((victim) => victim.get('/slow'))
    await until(() => app!.slow.waiting === 20)
    expect(JSON.parse((await owner.post('/sign-out-others')).body)).toEqual({ ended: 20 })
    app.slow.gate.resolve()
    for (const res of await Promise.all(slow)) expect(res.status).toBe(200)
    let back = 0
    for (const victim of victims) if ((await whoIs(victim)) !== null) back++
    expect(back).toBe(0)
    expect(await list(owner)).toHaveLength(1)
    expect(app.events.filter((event) => event.type === 'resurrection_blocked')).toHaveLength(20)
  })

  it('gives a revoked cookie a fresh anonymous session on its next request', async () => {
    app = await startOwnerApp()
    const self = await login(app.url, 'alice')
    const other = await login(app.url, 'alice')
    const revokedId = sessionIdOf(other)
    await self.post('/sign-out-others')
    const res = await other.get('/me')
    expect(JSON.parse(res.body)).toEqual({ user: null, visits: 0 })
    await other.post('/visit')
    expect(sessionIdOf(other)).not.toBe(revokedId)
    expect(app.events.map((event) => event.type)).toEqual(
      expect.arrayContaining(['revoked', 'unknown_id']),
    )
  })

  it('fails a request whose owner() returns something that is not a string', async () => {
    app = await startOwnerApp({ numericOwner: true })
    const res = await new CookieClient(app.url).post('/login?user=alice')
    expect(res.status).toBe(500)
    expect(JSON.parse(res.body)).toEqual({ error: 'ERR_SESSION_OPTIONS' })
  })
})

describe('revocation seen from another process on the same store', () => {
  let other: OwnerApp | undefined
  afterEach(async () => {
    await other?.close()
    other = undefined
  })

  it('lets no in-flight request of the other process write a revoked session back (0 of 20)', async () => {
    const memory = new MemoryStore({ checkPeriodMs: 0 })
    app = await startOwnerApp({ store: memory })
    other = await startOwnerApp({ store: otherProcessView(memory) })
    const owner = await login(app.url, 'alice', 'owner')
    const victims = await Promise.all(Array.from({ length: 20 }, () => login(other!.url, 'alice')))
    const slow = victims.map((victim) => victim.get('/slow'))
    await until(() => other!.slow.waiting === 20)
    expect(JSON.parse((await owner.post('/sign-out-others')).body)).toEqual({ ended: 20 })
    other.slow.gate.resolve()
    for (const res of await Promise.all(slow)) expect(res.status).toBe(200)
    let back = 0
    for (const victim of victims) if ((await whoIs(victim)) !== null) back++
    expect(back).toBe(0)
    expect(await list(owner)).toHaveLength(1)
    // Stopped by the store (patch on a missing record), not by this process' registry.
    expect(other.events.filter((event) => event.type === 'resurrection_blocked')).toHaveLength(20)
  })

  it('refuses to carry a revoked login into a new id through regenerate({ keep })', async () => {
    const memory = new MemoryStore({ checkPeriodMs: 0 })
    app = await startOwnerApp({ store: memory })
    other = await startOwnerApp({ store: otherProcessView(memory) })
    const owner = await login(app.url, 'alice', 'owner')
    const victim = await login(other.url, 'alice', 'victim')
    const slow = victim.get('/slow-regenerate')
    await until(() => other!.slow.waiting === 1)
    expect(JSON.parse((await owner.post('/sign-out-others')).body)).toEqual({ ended: 1 })
    other.slow.gate.resolve()
    const res = await slow
    expect(res.status).toBe(500)
    expect(JSON.parse(res.body)).toEqual({ error: 'ERR_SESSION_DESTROYED' })
    expect(await whoIs(victim)).toBeNull()
    expect((await list(owner)).map((entry) => entry.label)).toEqual(['owner'])
  })
})

describe('the epoch check', () => {
  it('ends every session of an owner whose epoch moved, on its next request', async () => {
    const epochs = new Map<string, number>([['alice', 1]])
    app = await startOwnerApp({ ownerEpoch: (owner) => epochs.get(owner) })
    const devices = await Promise.all(Array.from({ length: 3 }, () => login(app!.url, 'alice')))
    const bob = await login(app.url, 'bob') // bob has no epoch: nothing to compare, kept
    for (const device of devices) expect(await whoIs(device)).toBe('alice')
    epochs.set('alice', 2)
    for (const device of devices) expect(await whoIs(device)).toBeNull()
    expect(await whoIs(bob)).toBe('bob')
    const revoked = app.events.filter((event) => event.type === 'revoked')
    expect(revoked.map((event) => event.type === 'revoked' && event.reason)).toEqual([
      'epoch',
      'epoch',
      'epoch',
    ])
    // A new login takes the new epoch.
    const again = await login(app.url, 'alice')
    expect(await whoIs(again)).toBe('alice')
  })

  it('keeps this device through a password change when it regenerates', async () => {
    const epochs = new Map<string, string>([['alice', 'hash-1']])
    app = await startOwnerApp({
      ownerEpoch: async (owner) => epochs.get(owner),
      bumpEpoch: (owner) => epochs.set(owner, 'hash-2'),
    })
    const self = await login(app.url, 'alice')
    const other = await login(app.url, 'alice')
    expect((await self.post('/change-password')).status).toBe(200)
    expect(await whoIs(self)).toBe('alice')
    expect(await whoIs(other)).toBeNull()
  })

  it('works on a store that keeps no index, where list and revoke fail clearly', async () => {
    const epochs = new Map<string, number>([['alice', 1]])
    app = await startOwnerApp({
      store: new CallbackStore(),
      ownerEpoch: (owner) => epochs.get(owner),
    })
    const device = await login(app.url, 'alice')
    expect(await whoIs(device)).toBe('alice')
    const res = await device.get('/sessions')
    expect(res.status).toBe(500)
    expect(JSON.parse(res.body)).toEqual({ error: 'ERR_SESSION_NO_INDEX' })
    await expect(app.appSession.revokeSessions('alice')).rejects.toMatchObject({
      code: 'ERR_SESSION_NO_INDEX',
    })
    epochs.set('alice', 2)
    expect(await whoIs(device)).toBeNull()
  })
})

/** An express-session style store (callbacks, no index): what connect-redis looks like to us. */
class CallbackStore {
  readonly #records = new Map<string, string>()
  get(id: string, callback: (err: unknown, value?: unknown) => void): void {
    const json = this.#records.get(id)
    setImmediate(callback, null, json === undefined ? undefined : JSON.parse(json))
  }
  set(id: string, record: SessionRecord, callback: (err?: unknown) => void): void {
    this.#records.set(id, JSON.stringify(record))
    setImmediate(callback)
  }
  destroy(id: string, callback: (err?: unknown) => void): void {
    this.#records.delete(id)
    setImmediate(callback)
  }
}

// Referenced so the compiler checks the callback store against what session() accepts.
void (new CallbackStore() satisfies object as unknown as SessionStore)
void MemoryStore
