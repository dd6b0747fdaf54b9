// Issue 11: while a store has emitted `disconnect`, requests fail at once (503) instead of each
// waiting the whole storeTimeout; the next `connect` brings the sessions back.
import { EventEmitter } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { session } from '../../src/index.js'
import { json, serve } from '../helpers/apps.js'
import { CookieClient, type TestServer } from '../helpers/http.js'
import { SECRET } from '../security/support.js'

type Callback = (err?: unknown, value?: unknown) => void

/** An express-session store (callbacks, connection events) over a Map. */
class FlakyStore extends EventEmitter {
  readonly records = new Map<string, string>()
  get(id: string, cb: Callback): void {
    const json = this.records.get(id)
    cb(null, json === undefined ? null : JSON.parse(json))
  }
  set(id: string, record: unknown, cb: Callback): void {
    this.records.set(id, JSON.stringify(record))
    cb()
  }
  destroy(id: string, cb: Callback): void {
    this.records.delete(id)
    cb()
  }
}

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('a store that emitted disconnect', () => {
  it('answers 503 at once, not after storeTimeout, and recovers on connect', async () => {
    const store = new FlakyStore()
    const schema = z.object({ views: z.number().default(0) })
    // An hour: a request that waited for it would never finish within the test.
    server = await serve(
      'express5',
      session({ schema, secret: SECRET, store, storeTimeout: 3_600_000 }),
      {
        'GET /count': (req, res) => {
          req.session.views = (req.session.views as number) + 1
          json(res, { views: req.session.views })
        },
      },
    )
    const client = new CookieClient(server.url)
    expect(JSON.parse((await client.get('/count')).body)).toEqual({ views: 1 })
    store.emit('disconnect')
    for (let i = 0; i < 3; i++) {
      const down = await client.get('/count')
      expect(down.status).toBe(503)
      expect(down.body).toBe('ERR_SESSION_STORE')
    }
    store.emit('connect')
    expect(JSON.parse((await client.get('/count')).body)).toEqual({ views: 2 })
  })
})
