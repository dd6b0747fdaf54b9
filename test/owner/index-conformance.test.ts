// The index cases of the conformance suite (issue 12) on every store that keeps an index.
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  indexConformance,
  MemoryStore,
  SessionError,
  type SessionStore,
  type StoreOption,
  session,
  toSessionStore,
} from '../../src/index.js'
import { otherProcessView } from './support.js'

const TIMEOUT_MS = 5000

function conformance(get: () => SessionStore): void {
  for (const c of indexConformance) it(c.name, () => c.run(get()))
}

describe('indexConformance on MemoryStore', () => {
  const memory = new MemoryStore()
  afterAll(() => memory.close())
  describe('called natively', () => conformance(() => memory))
  describe('through toSessionStore', () => {
    const adapted = toSessionStore(memory, { timeoutMs: TIMEOUT_MS })
    conformance(() => adapted)
  })
  describe('as a branded native store through the calling adapter', () => {
    const adapted = toSessionStore(otherProcessView(memory), { timeoutMs: TIMEOUT_MS })
    it('keeps indexedIds', () => expect(adapted.indexedIds).toBeTypeOf('function'))
    conformance(() => adapted)
  })
})

describe('a store that has an index but cannot use it', () => {
  it('answers listSessions with its ERR_SESSION_NO_INDEX, not a store failure', async () => {
    const memory = new MemoryStore()
    const appSession = session({
      schema: z.object({ user: z.string().optional() }),
      secret: 'index-conformance-secret-0123456789abcdef',
      store: {
        ...(otherProcessView(memory) as object),
        // What PgStore does on a table without its owner column.
        indexedIds: () =>
          Promise.reject(new SessionError('ERR_SESSION_NO_INDEX', 'no owner column')),
      } as unknown as StoreOption,
      owner: (data) => data.user,
    })
    await expect(appSession.listSessions('nobody')).rejects.toMatchObject({
      code: 'ERR_SESSION_NO_INDEX',
      message: 'no owner column',
    })
  })
})

describe('indexConformance cases', () => {
  it('fail a store that forgets to index', async () => {
    const memory = new MemoryStore()
    const forgetful: SessionStore = {
      get: (id) => memory.get(id),
      set: (id, record) => memory.set(id, { ...record, $session: undefined }),
      destroy: (id) => memory.destroy(id),
      patch: (id, patch) => memory.patch(id, patch),
      indexedIds: (owner) => memory.indexedIds(owner),
    }
    const failures = await Promise.allSettled(indexConformance.map((c) => c.run(forgetful)))
    expect(failures.filter((result) => result.status === 'rejected').length).toBeGreaterThan(2)
  })
})
