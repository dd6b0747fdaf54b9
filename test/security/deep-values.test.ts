// Issue 11: a recursive schema (`z.json()`) and client JSON in the session. A few thousand levels
// overflow zod's recursive parse, and zod 4 leaks memory on that throw: a remote out-of-memory.
// Values nested deeper (or wider) than the documented bounds are refused before any schema runs.
import type { StandardSchemaV1 } from '@standard-schema/spec'
import express, { type NextFunction, type Request, type Response } from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  isSessionError,
  MAX_NESTING_DEPTH,
  MAX_NESTING_WIDTH,
  MemoryStore,
  type SessionEvent,
  session,
} from '../../src/index.js'
import { idOfCookie, plantedId, presentId, SECRET, STORED_COOKIE } from '../flash/support.js'
import { CookieClient, listen, type TestServer } from '../helpers/http.js'

/** A value nested `depth` levels deep: `{"a":{"a":...{}}}` (the outer object is level 1). */
function nested(depth: number): unknown {
  let value: Record<string, unknown> = {}
  for (let level = 1; level < depth; level++) value = { a: value }
  return value
}

/** An array nested `depth` levels deep: `[[[...]]]`, two bytes a level. */
function nestedArray(depth: number): unknown {
  let value: unknown[] = []
  for (let level = 1; level < depth; level++) value = [value]
  return value
}

/** How deep `value` is, without recursion. */
function depthOf(value: unknown): number {
  let depth = 0
  let node = value
  while (typeof node === 'object' && node !== null) {
    depth++
    node = Array.isArray(node) ? node[0] : Object.values(node)[0]
  }
  return depth
}

/** `z.json()` under a key, with a spy on every value the schema is asked to validate. */
function spiedSchema() {
  const inner = z.object({ doc: z.json().optional(), note: z.string().optional() })
  const seenDepths: number[] = []
  const schema = {
    ...inner,
    '~standard': {
      ...inner['~standard'],
      validate: (value: unknown) => {
        seenDepths.push(depthOf((value as { doc?: unknown } | undefined)?.doc))
        return inner['~standard'].validate(value)
      },
    },
    // Typed by its output only: `z.json()`'s recursive type is more than the compile-time schema
    // checks can expand (TS2589), and this test is about the runtime.
  } as unknown as StandardSchemaV1<{ doc?: unknown; note?: string }>
  return { schema, seenDepths }
}

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function start(store: MemoryStore) {
  const { schema, seenDepths } = spiedSchema()
  const events: SessionEvent[] = []
  const app = express()
  app.use(express.json({ limit: '1mb' }))
  app.use(
    session({
      schema,
      secret: SECRET,
      store,
      flash: { memo: z.json() as unknown as StandardSchemaV1<unknown> },
      onEvent: (event) => events.push(event),
    }),
  )
  app.post('/flash', (req, res) => {
    ;(req as unknown as { flash(kind: string, value: unknown): number }).flash('memo', req.body)
    res.json({ ok: true })
  })
  app.post('/doc', (req, res) => {
    ;(req.session as { doc?: unknown }).doc = req.body
    res.json({ ok: true })
  })
  app.get('/note', (req, res) => {
    ;(req.session as { note?: string }).note = 'hello'
    res.json({ id: req.sessionID, doc: (req.session as { doc?: unknown }).doc ?? null })
  })
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(isSessionError(err) ? err.status : 500).json({
      code: isSessionError(err) ? err.code : String(err),
      message: err instanceof Error ? err.message : String(err),
    })
  })
  server = await listen(app)
  return { client: new CookieClient(server.url), seenDepths, events }
}

describe('values nested too deep or too wide for a schema', () => {
  it('refuses client JSON 3,500 levels deep before the schema sees it, and the session lives on', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    const { client, seenDepths, events } = await start(store)
    await client.get('/note')
    const id = idOfCookie(client.cookies.get('sid'))!
    const body = JSON.stringify(nestedArray(3_500))
    expect(body.length).toBeLessThan(8 * 1024)
    for (let i = 0; i < 20; i++) {
      const refused = await client.request('/doc', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      })
      expect(refused.status).toBe(500)
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'ERR_SESSION_INVALID_DATA' })
      expect(JSON.parse(refused.body).message).toContain(`deeper than ${MAX_NESTING_DEPTH} levels`)
    }
    expect(Math.max(...seenDepths)).toBeLessThanOrEqual(MAX_NESTING_DEPTH)
    expect(events.filter((event) => event.type === 'too_nested')).toHaveLength(20)
    // The session is untouched and still works.
    const after = JSON.parse((await client.get('/note')).body)
    expect(after).toEqual({ id, doc: null })
  })

  it('refuses a flash message nested too deep before its schema sees it', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    const { client, events } = await start(store)
    const refused = await client.request('/flash', {
      method: 'POST',
      body: JSON.stringify(nestedArray(3_500)),
      headers: { 'content-type': 'application/json' },
    })
    expect(refused.status).toBe(500)
    expect(JSON.parse(refused.body).message).toContain(`deeper than ${MAX_NESTING_DEPTH} levels`)
    expect(events).toContainEqual(expect.objectContaining({ type: 'too_nested', problem: 'depth' }))
    expect((await client.post('/flash', { fine: [1, 2] })).status).toBe(200)
  })

  it('accepts a value exactly at the bound', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    const { client } = await start(store)
    // The record is level 1, `doc` level 2: the deepest `doc` allowed is one level less.
    const doc = nested(MAX_NESTING_DEPTH - 1)
    const saved = await client.post('/doc', doc)
    expect(saved.status).toBe(200)
    expect(JSON.parse((await client.get('/note')).body).doc).toEqual(doc)
    const over = await client.post('/doc', nested(MAX_NESTING_DEPTH))
    expect(over.status).toBe(500)
  })

  it('refuses an array wider than the bound', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    const { client, events } = await start(store)
    const wide = await client.post('/doc', new Array(MAX_NESTING_WIDTH + 1).fill(0))
    expect(wide.status).toBe(500)
    expect(JSON.parse(wide.body).message).toContain(`more than ${MAX_NESTING_WIDTH} members`)
    expect(events).toContainEqual(expect.objectContaining({ type: 'too_nested', problem: 'width' }))
  })

  it('treats a stored record 4,000 levels deep as invalid: a fresh session, the schema never called on it', async () => {
    const store = new MemoryStore({ checkPeriodMs: 0 })
    const { client, seenDepths, events } = await start(store)
    const id = plantedId('deep')
    await store.set(id, { cookie: STORED_COOKIE, doc: nested(4_000) } as never)
    presentId(client, id)
    for (let i = 0; i < 10; i++) {
      presentId(client, id)
      const response = await client.get('/note')
      expect(response.status).toBe(200)
      const body = JSON.parse(response.body) as { id: string; doc: unknown }
      expect(body.id).not.toBe(id)
      expect(body.doc).toBeNull()
      if (i === 0) expect(await store.get(id)).toBeUndefined() // the junk record is gone
      await store.set(id, { cookie: STORED_COOKIE, doc: nested(4_000) } as never)
    }
    expect(Math.max(...seenDepths)).toBeLessThanOrEqual(MAX_NESTING_DEPTH)
    expect(events).toContainEqual(expect.objectContaining({ type: 'too_nested', problem: 'depth' }))
  })
})
