import { EventEmitter } from 'node:events'
import { inherits } from 'node:util'
import { describe, expect, it } from 'vitest'
import { toSessionStore } from '../../src/stores/adapt.js'
import { Store } from '../../src/stores/store.js'

type Callback = (err?: unknown, value?: unknown) => void
const RECORD = { views: 1, cookie: { originalMaxAge: 1000, expires: '2100-01-01T00:00:00.000Z' } }

describe('Store', () => {
  it('is extendable with class syntax and passes constructor options through', async () => {
    class MapStore extends Store {
      readonly data = new Map<string, unknown>()
      readonly options: unknown
      constructor(options?: unknown) {
        super(options)
        this.options = options
      }
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
    const store = new MapStore({ ttl: 5 })
    expect(store).toBeInstanceOf(Store)
    expect(store).toBeInstanceOf(EventEmitter)
    expect(store.options).toEqual({ ttl: 5 })
    const adapted = toSessionStore(store, { timeoutMs: 1000 })
    await adapted.set('id', RECORD)
    // The store keeps the object it was handed, whose cookie is express-session's Cookie
    // look-alike: it reads back as the same record once serialised.
    expect(JSON.parse(JSON.stringify(await adapted.get('id')))).toEqual(RECORD)
  })

  it('is callable from an old-style constructor (Store.call(this) + util.inherits)', () => {
    interface Legacy extends EventEmitter {
      name: string
    }
    function Legacy(this: Legacy, options: { name: string }) {
      Store.call(this, options)
      this.name = options.name
    }
    inherits(Legacy, Store as unknown as new () => unknown)
    const store = new (Legacy as unknown as new (o: { name: string }) => Legacy)({ name: 'legacy' })
    expect(store).toBeInstanceOf(Store)
    expect(store.name).toBe('legacy')
    let heard = 0
    store.on('connect', () => heard++)
    store.emit('connect')
    expect(heard).toBe(1)
  })

  it('provides load (record with cookie.expires as a Date) and regenerate (destroy, then generate)', async () => {
    const destroyed: string[] = []
    class S extends Store {
      generate?: (req: unknown) => void
      get(_id: string, cb: Callback) {
        cb(null, JSON.parse(JSON.stringify(RECORD)))
      }
      destroy(id: string, cb: Callback) {
        destroyed.push(id)
        cb()
      }
    }
    const store = new S()
    const loaded = await new Promise<Record<string, unknown> | undefined>((resolve, reject) =>
      store.load('id', (err, sess) => (err ? reject(err) : resolve(sess))),
    )
    expect((loaded!.cookie as { expires: unknown }).expires).toEqual(
      new Date(RECORD.cookie.expires),
    )
    expect(loaded).toMatchObject({ views: 1 })

    const generated: unknown[] = []
    store.generate = (req) => generated.push(req)
    const req = { sessionID: 'old' }
    await new Promise<void>((resolve) => store.regenerate(req, () => resolve()))
    expect(destroyed).toEqual(['old'])
    expect(generated).toEqual([req])
  })
})
