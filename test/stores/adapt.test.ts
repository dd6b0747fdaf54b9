import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { isSessionError } from '../../src/errors.js'
import { nativeStore, toSessionStore, UNREADABLE_RECORD } from '../../src/stores/adapt.js'
import { MemoryStore } from '../../src/stores/memory.js'
import type { SessionRecord } from '../../src/stores/types.js'

const TIMEOUT_MS = 1000
const RECORD: SessionRecord = {
  views: 1,
  cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() },
}

type Callback = (err?: unknown, value?: unknown) => void

/** A callback store whose methods are given per test; unset methods answer at once. */
function callbackStore(
  methods: Partial<Record<'get' | 'set' | 'destroy' | 'touch', unknown>> = {},
) {
  return {
    get: (_id: string, cb: Callback) => cb(null, null),
    set: (_id: string, _s: unknown, cb: Callback) => cb(),
    destroy: (_id: string, cb: Callback) => cb(),
    ...methods,
  }
}

function expectStoreError(promise: Promise<unknown>, cause?: unknown) {
  return expect(promise).rejects.toSatisfy((err: unknown) => {
    if (!isSessionError(err) || err.code !== 'ERR_SESSION_STORE' || err.status !== 503) return false
    return cause === undefined || err.cause === cause
  })
}

describe('toSessionStore', () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason)
  }
  beforeEach(() => {
    unhandled.length = 0
    process.on('unhandledRejection', onUnhandled)
  })
  afterEach(async () => {
    vi.useRealTimers()
    // Give late rejections a chance to surface before checking.
    await new Promise((r) => setImmediate(r))
    process.off('unhandledRejection', onUnhandled)
    expect(unhandled).toEqual([])
  })

  describe('options', () => {
    it('throws ERR_SESSION_OPTIONS for something that is not a store', () => {
      for (const bad of [null, undefined, 42, {}, { get() {}, set() {} }]) {
        expect(() => toSessionStore(bad, { timeoutMs: TIMEOUT_MS })).toThrow(
          expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }),
        )
      }
    })

    it('throws ERR_SESSION_OPTIONS for a timeout that is not a positive number', () => {
      for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
        expect(() => toSessionStore(callbackStore(), { timeoutMs })).toThrow(
          expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }),
        )
      }
    })
  })

  describe('callback stores', () => {
    it('resolves with the value of a callback called synchronously', async () => {
      const store = toSessionStore(
        callbackStore({ get: (_id: string, cb: Callback) => cb(null, RECORD) }),
        {
          timeoutMs: TIMEOUT_MS,
        },
      )
      await expect(store.get('id')).resolves.toBe(RECORD)
    })

    it('resolves with the value of a callback called later, passing id, record and callback', async () => {
      const calls: unknown[][] = []
      const store = toSessionStore(
        callbackStore({
          set: (...args: unknown[]) => {
            calls.push(args)
            setImmediate(args[2] as Callback)
          },
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      await expect(store.set('id', RECORD)).resolves.toBeUndefined()
      expect(calls).toEqual([['id', expect.any(Object), expect.any(Function)]])
      // The record as express-session hands it: its cookie serialises to the same JSON.
      expect(JSON.parse(JSON.stringify(calls[0]![1]))).toEqual(RECORD)
    })

    it('settles once when the callback is called twice (first answer wins)', async () => {
      const store = toSessionStore(
        callbackStore({
          get: (_id: string, cb: Callback) => {
            cb(null, RECORD)
            cb(new Error('second'))
            cb(null, 'third')
          },
          set: (_id: string, _s: unknown, cb: Callback) => {
            cb(new Error('first'))
            cb(null)
          },
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      await expect(store.get('id')).resolves.toBe(RECORD)
      await expectStoreError(store.set('id', RECORD))
    })

    it('handles connect-redis 9 style: calls back and returns a promise (settles once)', async () => {
      const store = toSessionStore(
        callbackStore({
          async get(_id: string, cb: Callback) {
            cb(null, RECORD)
            return 'promise value ignored'
          },
          async destroy(_id: string, cb: Callback) {
            // connect-redis calls the callback again from its catch if the first call threw.
            cb(null)
            cb(new Error('again'))
          },
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      await expect(store.get('id')).resolves.toBe(RECORD)
      await expect(store.destroy('id')).resolves.toBeUndefined()
    })

    it('waits for the callback when an async method resolves before calling back', async () => {
      const store = toSessionStore(
        callbackStore({
          async get(_id: string, cb: Callback) {
            setImmediate(() => cb(null, RECORD))
          },
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      await expect(store.get('id')).resolves.toBe(RECORD)
    })

    it('rejects with ERR_SESSION_STORE, the original as cause, when a returned promise rejects', async () => {
      const boom = new Error('connection lost')
      const store = toSessionStore(
        callbackStore({
          get: (_id: string, _cb: Callback) => Promise.reject(boom),
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      await expectStoreError(store.get('id'), boom)
    })

    it('turns a callback error into ERR_SESSION_STORE without leaking the id', async () => {
      const boom = Object.assign(new Error('cannot reach sess:secret-id-123'), {
        code: 'ECONNREFUSED',
      })
      const store = toSessionStore(
        callbackStore({ get: (_id: string, cb: Callback) => cb(boom) }),
        { timeoutMs: TIMEOUT_MS },
      )
      const err = await store.get('secret-id-123').catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'ERR_SESSION_STORE', cause: boom })
      expect((err as Error).message).toContain('get')
      expect((err as Error).message).toContain('ECONNREFUSED')
      expect((err as Error).message).not.toContain('secret-id-123')
    })

    it("carries the store's own message, first line only, with the ids it was given redacted", async () => {
      // What connect-pg-simple reports when another app's table already took the index name.
      const pgError = Object.assign(
        new Error('relation "session_pkey" already exists\n    at Parser.parseErrorMessage'),
        { code: '42P07' },
      )
      const store = toSessionStore(
        callbackStore({ set: (_id: string, _s: unknown, cb: Callback) => cb(pgError) }),
        { timeoutMs: TIMEOUT_MS },
      )
      const err = await store.set('an-id-of-the-session', RECORD).catch((e: unknown) => e)
      expect((err as Error).message).toBe(
        'Session store store.set failed (42P07): relation "session_pkey" already exists',
      )
      const keyed = toSessionStore(
        callbackStore({
          destroy: (id: string, cb: Callback) => cb(new Error(`DEL sess:${id} refused for ${id}`)),
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      const del = await keyed.destroy('the-secret-session-id').catch((e: unknown) => e)
      expect((del as Error).message).toBe(
        'Session store store.destroy failed: DEL sess:[session id] refused for [session id]',
      )
      expect((del as Error).stack).not.toContain('the-secret-session-id')
      // A huge message is cut, so one failure stays one readable line in a log.
      const long = toSessionStore(
        callbackStore({ get: (_id: string, cb: Callback) => cb(new Error('x'.repeat(5000))) }),
        { timeoutMs: TIMEOUT_MS },
      )
      const cut = await long.get('id-1').catch((e: unknown) => e)
      expect((cut as Error).message.length).toBeLessThan(400)
      expect((cut as Error).message).toMatch(/x…$/)
    })

    it('turns a synchronous throw into ERR_SESSION_STORE', async () => {
      const boom = new TypeError('bad')
      const store = toSessionStore(
        callbackStore({
          set: () => {
            throw boom
          },
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      await expectStoreError(store.set('id', RECORD), boom)
    })

    it('treats ENOENT from get as not found, but not from set', async () => {
      const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' })
      const store = toSessionStore(
        callbackStore({
          get: (_id: string, cb: Callback) => cb(enoent),
          set: (_id: string, _s: unknown, cb: Callback) => cb(enoent),
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      await expect(store.get('id')).resolves.toBeNull()
      await expectStoreError(store.set('id', RECORD), enoent)
    })

    it('resolves an unparseable record (SyntaxError from get) as a non-JSON string, not an error', async () => {
      const store = toSessionStore(
        callbackStore({
          get: (_id: string, cb: Callback) => {
            try {
              JSON.parse('{junk')
            } catch (err) {
              cb(err)
            }
          },
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      const found = await store.get('id')
      expect(found).toBe(UNREADABLE_RECORD)
      expect(() => JSON.parse(found as string)).toThrow()
    })

    it('exposes touch only when the store has it, and never patch for a callback store', async () => {
      const withoutTouch = toSessionStore(callbackStore(), { timeoutMs: TIMEOUT_MS })
      expect(withoutTouch.touch).toBeUndefined()
      expect(withoutTouch.patch).toBeUndefined()

      const touched: string[] = []
      const withTouch = toSessionStore(
        {
          ...callbackStore({
            touch: (id: string, _s: unknown, cb: Callback) => {
              touched.push(id)
              cb()
            },
          }),
          patch: (_id: string, _p: unknown, cb: Callback) => cb(null, true),
        },
        { timeoutMs: TIMEOUT_MS },
      )
      await withTouch.touch!('id', RECORD)
      expect(touched).toEqual(['id'])
      expect(withTouch.patch).toBeUndefined()
    })

    it('calls methods with the store as `this` (class-based stores)', async () => {
      class ClassStore extends EventEmitter {
        readonly data = new Map<string, unknown>([['id', RECORD]])
        get(id: string, cb: Callback) {
          cb(null, this.data.get(id))
        }
        set(id: string, s: unknown, cb: Callback) {
          this.data.set(id, s)
          cb()
        }
        destroy(id: string, cb: Callback) {
          this.data.delete(id)
          cb()
        }
      }
      const store = toSessionStore(new ClassStore(), { timeoutMs: TIMEOUT_MS })
      await expect(store.get('id')).resolves.toBe(RECORD)
      await store.destroy('id')
      await expect(store.get('id')).resolves.toBeUndefined()
    })
  })

  describe('native stores', () => {
    it('uses the promise of a method that declares no callback', async () => {
      const store = toSessionStore(
        {
          get: async (id: string) => ({ id }),
          set: async (_id: string, _r: unknown) => {},
          destroy: async (_id: string) => {},
          patch: async (_id: string, _p: unknown) => true,
        },
        { timeoutMs: TIMEOUT_MS },
      )
      await expect(store.get('x')).resolves.toEqual({ id: 'x' })
      await expect(store.patch!('x', { set: {}, unset: [], cookie: RECORD.cookie })).resolves.toBe(
        true,
      )
    })

    it('calls a branded store exactly as written (no extra callback argument)', async () => {
      const seen: unknown[][] = []
      const store = toSessionStore(
        {
          [nativeStore]: true,
          get: async (...args: unknown[]) => {
            seen.push(args)
            return 'json'
          },
          set: async (...args: unknown[]) => {
            seen.push(args)
          },
          destroy: async () => {},
        },
        { timeoutMs: TIMEOUT_MS },
      )
      await expect(store.get('a')).resolves.toBe('json')
      await store.set('b', RECORD)
      expect(seen).toEqual([['a'], ['b', RECORD]])
    })

    it('bounds a native store by the timeout too', async () => {
      vi.useFakeTimers()
      const store = toSessionStore(
        { get: () => new Promise(() => {}), set: async () => {}, destroy: async () => {} },
        { timeoutMs: TIMEOUT_MS },
      )
      const result = expectStoreError(store.get('id'))
      await vi.advanceTimersByTimeAsync(TIMEOUT_MS)
      await result
    })
  })

  describe('timeouts', () => {
    it('rejects a store that never answers after timeoutMs, not before, and ignores a late answer', async () => {
      vi.useFakeTimers()
      let late: Callback | undefined
      const store = toSessionStore(
        callbackStore({
          get: (_id: string, cb: Callback) => {
            late = cb
          },
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      let outcome: unknown = 'pending'
      const call = store.get('id').then(
        (v) => {
          outcome = { value: v }
        },
        (e: unknown) => {
          outcome = e
        },
      )
      await vi.advanceTimersByTimeAsync(TIMEOUT_MS - 1)
      expect(outcome).toBe('pending')
      await vi.advanceTimersByTimeAsync(1)
      await call
      expect(outcome).toMatchObject({ code: 'ERR_SESSION_STORE' })
      expect((outcome as Error).message).toMatch(/did not answer within 1000 ms/)
      // The store answers after all: nothing changes, nothing throws.
      late!(null, RECORD)
      late!(new Error('late failure'))
      expect(outcome).toMatchObject({ code: 'ERR_SESSION_STORE' })
    })

    it('ignores a late promise rejection (no unhandled rejection)', async () => {
      vi.useFakeTimers()
      let rejectLate: ((e: unknown) => void) | undefined
      const store = toSessionStore(
        callbackStore({
          get: (_id: string, _cb: Callback) =>
            new Promise((_resolve, reject) => {
              rejectLate = reject
            }),
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      const result = expectStoreError(store.get('id'))
      await vi.advanceTimersByTimeAsync(TIMEOUT_MS)
      await result
      rejectLate!(new Error('late'))
      // afterEach checks no unhandled rejection surfaced.
    })

    it('clears its timer on every answer: no timer left after 10,000 calls', async () => {
      vi.useFakeTimers()
      const store = toSessionStore(
        callbackStore({
          get: (_id: string, cb: Callback) => cb(null, RECORD),
          set: (_id: string, _s: unknown, cb: Callback) => queueMicrotask(() => cb(new Error('x'))),
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      for (let i = 0; i < 10_000; i++) {
        await store.get(`id${i}`)
        await store.set(`id${i}`, RECORD).catch(() => {})
      }
      expect(vi.getTimerCount()).toBe(0)
    })

    it('recovers: a call after a failure or a timeout works', async () => {
      vi.useFakeTimers()
      let mode: 'hang' | 'fail' | 'ok' = 'hang'
      const store = toSessionStore(
        callbackStore({
          get: (_id: string, cb: Callback) => {
            if (mode === 'fail') cb(new Error('down'))
            else if (mode === 'ok') cb(null, RECORD)
          },
        }),
        { timeoutMs: TIMEOUT_MS },
      )
      const first = expectStoreError(store.get('id'))
      await vi.advanceTimersByTimeAsync(TIMEOUT_MS)
      await first
      mode = 'fail'
      await expectStoreError(store.get('id'))
      mode = 'ok'
      await expect(store.get('id')).resolves.toBe(RECORD)
    })
  })

  describe('connect / disconnect events', () => {
    class EventStore extends EventEmitter {
      readonly calls: string[] = []
      get(id: string, cb: Callback) {
        this.calls.push(id)
        cb(null, RECORD)
      }
      set(_id: string, _s: unknown, cb: Callback) {
        cb()
      }
      destroy(_id: string, cb: Callback) {
        cb()
      }
    }

    it('fails calls at once while disconnected, without waiting for the timeout, until connect', async () => {
      vi.useFakeTimers()
      const emitter = new EventStore()
      const store = toSessionStore(emitter, { timeoutMs: TIMEOUT_MS })
      expect(store.ready).toBe(true)
      emitter.emit('disconnect')
      expect(store.ready).toBe(false)
      // No timer runs: the rejection comes without any time passing.
      await expect(store.get('held')).rejects.toMatchObject({
        code: 'ERR_SESSION_STORE',
        message: expect.stringMatching(/disconnected/),
      })
      expect(vi.getTimerCount()).toBe(0)
      expect(emitter.calls).toEqual([])
      emitter.emit('connect')
      expect(store.ready).toBe(true)
      await expect(store.get('after')).resolves.toBe(RECORD)
      expect(emitter.calls).toEqual(['after'])
    })

    it('adds two listeners per adapted store, none per call', async () => {
      vi.useFakeTimers()
      const emitter = new EventStore()
      const store = toSessionStore(emitter, { timeoutMs: TIMEOUT_MS })
      expect(emitter.listenerCount('connect')).toBe(1)
      expect(emitter.listenerCount('disconnect')).toBe(1)
      emitter.emit('disconnect')
      const calls = Array.from({ length: 1000 }, (_, i) =>
        store.get(`id${i}`).catch((e: unknown) => e),
      )
      expect(emitter.listenerCount('connect')).toBe(1)
      const results = await Promise.all(calls)
      expect(results.every((e) => isSessionError(e))).toBe(true)
      expect(emitter.listenerCount('connect')).toBe(1)
      expect(vi.getTimerCount()).toBe(0)
    })
  })

  describe('MemoryStore', () => {
    it('is called directly, without a timer', async () => {
      vi.useFakeTimers()
      const memory = new MemoryStore({ checkPeriodMs: 0 })
      const store = toSessionStore(memory, { timeoutMs: TIMEOUT_MS })
      const pending = store.set('id', RECORD)
      expect(vi.getTimerCount()).toBe(0)
      await pending
      expect(JSON.parse((await store.get('id')) as string)).toEqual(RECORD)
      expect(store.touch).toBeTypeOf('function')
      expect(store.patch).toBeTypeOf('function')
      expect(store.ready).toBe(true)
    })
  })
})
