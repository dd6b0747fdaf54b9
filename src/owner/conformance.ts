// The session-index part of the store conformance suite (issue 12): what listSessions and
// revokeSessions rely on from a store that implements `indexedIds`. The one rule that matters:
// a record with an owner is never missing from that owner's list. Stale ids are allowed.
import { randomBytes } from 'node:crypto'
import { type StoreConformanceCase, withCleanup } from '../stores/conformance.js'
import type { SessionRecord } from '../stores/types.js'
import { OWNER_SLOT, type OwnerSlot } from './meta.js'

const HOUR_MS = 3_600_000

/**
 * Index cases of the conformance suite; they pass trivially for a store without `indexedIds`.
 * Run them like `storeConformance`, on the native store or its `toSessionStore` adaptation.
 *
 * @example
 * ```ts
 * import { indexConformance, toSessionStore } from 'typed-session'
 * const store = toSessionStore(new MyStore(), { timeoutMs: 2000 })
 * for (const c of indexConformance) it(c.name, () => c.run(store))
 * ```
 */
export const indexConformance: ReadonlyArray<StoreConformanceCase> = [
  {
    name: 'index: set files a record under its owner, and only there',
    async run(store) {
      if (store.indexedIds === undefined) return
      const [alice, bob] = [uniqueOwner(), uniqueOwner()]
      const [a1, a2, b1, anon] = [uniqueId(), uniqueId(), uniqueId(), uniqueId()]
      await withCleanup(store, [a1, a2, b1, anon], async () => {
        await store.set(a1, owned(alice))
        await store.set(a2, owned(alice))
        await store.set(b1, owned(bob))
        await store.set(anon, anonymous())
        const ids = await store.indexedIds!(alice)
        check(ids.includes(a1) && ids.includes(a2), `indexedIds(alice) = ${JSON.stringify(ids)}`)
        check(!ids.includes(b1) && !ids.includes(anon), 'another owner or anonymous listed')
      })
    },
  },
  {
    name: 'index: a patch that changes the owner files the record under the new one',
    async run(store) {
      if (store.indexedIds === undefined || store.patch === undefined) return
      const [alice, bob] = [uniqueOwner(), uniqueOwner()]
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        await store.set(id, owned(alice))
        const cookie = anonymous().cookie
        await store.patch!(id, { set: { [OWNER_SLOT]: slot(bob) }, unset: [], cookie })
        check((await store.indexedIds!(bob)).includes(id), 'not listed under the new owner')
      })
    },
  },
  {
    name: 'index: a patch that leaves the owner alone keeps the record listed',
    async run(store) {
      if (store.indexedIds === undefined || store.patch === undefined) return
      const alice = uniqueOwner()
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        await store.set(id, owned(alice))
        await store.patch!(id, { set: { views: 2 }, unset: [], cookie: anonymous().cookie })
        await store.touch?.(id, owned(alice))
        check((await store.indexedIds!(alice)).includes(id), 'dropped from the list')
      })
    },
  },
  {
    name: 'index: many concurrent writes of one owner are all listed',
    async run(store) {
      if (store.indexedIds === undefined) return
      const alice = uniqueOwner()
      const ids = Array.from({ length: 20 }, uniqueId)
      await withCleanup(store, ids, async () => {
        await Promise.all(ids.map((id) => store.set(id, owned(alice))))
        const listed = new Set(await store.indexedIds!(alice))
        const missing = ids.filter((id) => !listed.has(id))
        check(missing.length === 0, `${missing.length} of 20 missing from the list`)
      })
    },
  },
  {
    name: 'index: unindex forgets the ids it is given',
    async run(store) {
      if (store.indexedIds === undefined || store.unindex === undefined) return
      const alice = uniqueOwner()
      const [gone, kept] = [uniqueId(), uniqueId()]
      await withCleanup(store, [gone, kept], async () => {
        await store.set(gone, owned(alice))
        await store.set(kept, owned(alice))
        await store.destroy(gone)
        await store.unindex!(alice, [gone])
        const ids = await store.indexedIds!(alice)
        check(!ids.includes(gone) && ids.includes(kept), `indexedIds = ${JSON.stringify(ids)}`)
      })
    },
  },
]

function uniqueId(): string {
  return `idx-${randomBytes(12).toString('base64url')}`
}

function uniqueOwner(): string {
  return `owner-${randomBytes(6).toString('hex')}`
}

function slot(owner: string): OwnerSlot {
  const now = Date.now()
  return { owner, handle: randomBytes(16).toString('base64url'), createdAt: now, activeAt: now }
}

function anonymous(): SessionRecord {
  return {
    cookie: {
      originalMaxAge: HOUR_MS,
      expires: new Date(Date.now() + HOUR_MS).toISOString(),
      httpOnly: true,
      path: '/',
    },
    views: 1,
  }
}

function owned(owner: string): SessionRecord {
  return { ...anonymous(), [OWNER_SLOT]: slot(owner) }
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message)
}
