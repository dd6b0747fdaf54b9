// Issue 11: a MemoryStore whose `get` is overridden or wrapped after `session()` (instrumentation,
// a test spy) must run: the in-process shortcut applies only while the method is the store's own.
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryStore, session } from '../../src/index.js'
import { json, serve } from '../helpers/apps.js'
import { CookieClient, type TestServer } from '../helpers/http.js'
import { SECRET } from '../security/support.js'

const schema = z.object({ views: z.number().default(0) })

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function start(store: MemoryStore) {
  server = await serve('express5', session({ schema, secret: SECRET, store }), {
    'GET /count': (req, res) => {
      req.session.views = (req.session.views as number) + 1
      json(res, { views: req.session.views, id: req.sessionID })
    },
  })
  return new CookieClient(server.url)
}

describe('a MemoryStore with an overridden get', () => {
  it('runs a wrapper installed after session()', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    const client = await start(store)
    await client.get('/count')
    const seen: string[] = []
    const original = store.get.bind(store) as (id: string) => Promise<unknown>
    store.get = ((id: string) => {
      seen.push(id)
      return original(id)
    }) as typeof store.get
    const second = JSON.parse((await client.get('/count')).body)
    expect(second.views).toBe(2)
    expect(seen).toEqual([second.id])
  })

  it('treats ENOENT from the override as "not found", and other errors as store failures', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    const client = await start(store)
    const first = JSON.parse((await client.get('/count')).body)
    store.get = (() =>
      Promise.reject(Object.assign(new Error('gone'), { code: 'ENOENT' }))) as typeof store.get
    const fresh = JSON.parse((await client.get('/count')).body)
    expect(fresh.views).toBe(1)
    expect(fresh.id).not.toBe(first.id)
    store.get = (() => Promise.reject(new Error('disk on fire'))) as typeof store.get
    const failed = await client.get('/count')
    expect(failed.status).toBe(503)
    expect(failed.body).toBe('ERR_SESSION_STORE')
  })
})
