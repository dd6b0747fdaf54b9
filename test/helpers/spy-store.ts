import { MemoryStore, type SessionStore } from '../../src/index.js'

/** A native store around a MemoryStore that records the name of every call, in order. */
export interface SpyStore extends SessionStore {
  readonly calls: string[]
  readonly inner: MemoryStore
}

/** Count store traffic: what a request does to the store is part of its observable behaviour. */
export function spyStore(inner: MemoryStore = new MemoryStore()): SpyStore {
  const calls: string[] = []
  return {
    calls,
    inner,
    get(id) {
      calls.push('get')
      return inner.get(id)
    },
    set(id, record) {
      calls.push('set')
      return inner.set(id, record)
    },
    destroy(id) {
      calls.push('destroy')
      return inner.destroy(id)
    },
    touch(id, record) {
      calls.push('touch')
      return inner.touch(id, record)
    },
  }
}
