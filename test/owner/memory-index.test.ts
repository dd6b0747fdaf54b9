// The MemoryStore's per-owner index (issue 12): it follows the records it holds, so every way a
// record goes (destroy, expiry, eviction, clear, a patch that changes or drops the owner) takes
// its index entry with it.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MemoryStore, type SessionRecord } from '../../src/index.js'

const HOUR_MS = 3_600_000

function record(owner: string | undefined, expiresInMs = HOUR_MS): SessionRecord {
  const cookie = {
    originalMaxAge: expiresInMs,
    expires: new Date(Date.now() + expiresInMs).toISOString(),
    httpOnly: true,
    path: '/',
  }
  if (owner === undefined) return { cookie, views: 1 }
  return { cookie, views: 1, $session: slot(owner) }
}

function slot(owner: string) {
  return {
    owner,
    handle: 'h'.repeat(22),
    createdAt: Date.now(),
    activeAt: Date.now(),
  }
}

const sorted = async (ids: Promise<readonly string[]>) => [...(await ids)].sort()

afterEach(() => {
  vi.useRealTimers()
})

describe('MemoryStore index', () => {
  it('lists the sessions whose record names the owner, and only those', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    await store.set('a1', record('alice'))
    await store.set('a2', record('alice'))
    await store.set('b1', record('bob'))
    await store.set('anon', record(undefined))
    expect(await sorted(store.indexedIds('alice'))).toEqual(['a1', 'a2'])
    expect(await store.indexedIds('bob')).toEqual(['b1'])
    expect(await store.indexedIds('carol')).toEqual([])
  })

  it('moves a session when a write changes its owner, and drops it when the owner goes', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    await store.set('s', record('alice'))
    await store.set('s', record('bob'))
    expect(await store.indexedIds('alice')).toEqual([])
    expect(await store.indexedIds('bob')).toEqual(['s'])
    const cookie = record(undefined).cookie
    expect(await store.patch('s', { set: {}, unset: ['$session'], cookie })).toBe(true)
    expect(await store.indexedIds('bob')).toEqual([])
    expect(await store.patch('s', { set: { $session: slot('carol') }, unset: [], cookie })).toBe(
      true,
    )
    expect(await store.indexedIds('carol')).toEqual(['s'])
  })

  it('keeps the owner through a patch that does not touch it, and through touch', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    await store.set('s', record('alice'))
    const cookie = record(undefined).cookie
    await store.patch('s', { set: { views: 2 }, unset: [], cookie })
    await store.touch('s', record(undefined))
    expect(await store.indexedIds('alice')).toEqual(['s'])
  })

  it('forgets destroyed, cleared and evicted sessions', async () => {
    const store = new MemoryStore({ max: 2, checkPeriodMs: 0 })
    await store.set('a1', record('alice'))
    await store.set('a2', record('alice'))
    await store.destroy('a1')
    expect(await store.indexedIds('alice')).toEqual(['a2'])
    await store.set('b1', record('bob'))
    await store.set('b2', record('bob')) // evicts a2, the least recently used
    expect(await store.indexedIds('alice')).toEqual([])
    expect(await sorted(store.indexedIds('bob'))).toEqual(['b1', 'b2'])
    await store.clear()
    expect(await store.indexedIds('bob')).toEqual([])
  })

  it('forgets expired sessions, whether swept, read or listed', async () => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') })
    const store = new MemoryStore({ checkPeriodMs: 0 })
    await store.set('short', record('alice', 1_000))
    await store.set('long', record('alice', HOUR_MS))
    await store.set('read', record('bob', 1_000))
    await store.set('swept', record('carol', 1_000))
    vi.advanceTimersByTime(1_001)
    expect(await store.indexedIds('alice')).toEqual(['long'])
    expect(await store.get('read')).toBeUndefined()
    store.prune()
    expect(await store.indexedIds('bob')).toEqual([])
    expect(await store.indexedIds('carol')).toEqual([])
    expect(store.size).toBe(1)
  })

  it('does not index a record written already expired', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    await store.set('s', record('alice', -1_000))
    expect(await store.indexedIds('alice')).toEqual([])
  })
})
