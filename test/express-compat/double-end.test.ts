// Issue 11: `res.send('ok'); next()` (a common Express slip) with a store that takes a while. The
// first `res.end` waits for the save; whatever the app writes after it must not win: the client
// gets the first body, as without the middleware, and Node reports the later calls as it would.
import express, { type NextFunction, type Request, type Response } from 'express'
import express4 from 'express4'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryStore, session } from '../../src/index.js'
import { CookieClient, listen, type TestServer } from '../helpers/http.js'
import { GatedStore, SECRET } from '../security/support.js'

const schema = z.object({ views: z.number().default(0) })

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** What the app observed of its calls after the first end. */
interface Reported {
  readonly callback: unknown[]
  readonly errors: unknown[]
}

/** The routes: a fall-through to the 404 handler, and a handler that ends three times. */
function routes(app: express.Express, reported: Reported): void {
  app.get('/slip', (req: Request, res: Response, next: NextFunction) => {
    const data = req.session as unknown as { views: number } | undefined
    if (data !== undefined) data.views++
    res.send('ok')
    next() // falls through to Express's 404 handler
  })
  app.get('/twice', (req: Request, res: Response) => {
    const data = req.session as unknown as { views: number } | undefined
    if (data !== undefined) data.views++
    res.on('error', (err) => reported.errors.push((err as { code?: string }).code))
    res.status(201).send('first')
    try {
      res.writeHead(500)
    } catch (err) {
      reported.errors.push((err as { code?: string }).code)
    }
    res.end('second')
    res.end((err?: unknown) => reported.callback.push((err as { code?: string }).code))
  })
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !check(); i++) await new Promise(setImmediate)
}

describe.each([
  ['Express 5', express],
  ['Express 4', express4 as unknown as typeof express],
])('a second res.end while the first one waits for the store (%s)', (_name, makeApp) => {
  async function start(withSession: boolean) {
    const store = new GatedStore(new MemoryStore({ checkPeriodMs: 0 }))
    const reported: Reported = { callback: [], errors: [] }
    const app = makeApp()
    if (withSession) app.use(session({ schema, secret: SECRET, store }))
    routes(app, reported)
    server = await listen(app)
    return { store, client: new CookieClient(server.url), reported }
  }

  it('sends the first body when the app falls through to the 404 handler', async () => {
    const { store, client } = await start(true)
    const gate = store.hold('set')
    const response = client.get('/slip')
    await gate.arrived
    gate.release()
    const answer = await response
    expect(answer.status).toBe(200)
    expect(answer.body).toBe('ok')
    expect(answer.headers.get('content-security-policy')).toBeNull()
    expect(client.cookies.has('sid')).toBe(true)
    // The session was saved and is the one the cookie names.
    const gate2 = store.hold('set')
    const again = client.get('/slip')
    await gate2.arrived
    gate2.release()
    expect((await again).status).toBe(200)
    expect(store.count('set')).toBe(2)
  })

  it('keeps the first status and body, and Node reports the later calls as without the middleware', async () => {
    const control = await start(false)
    const bare = await control.client.get('/twice')
    await waitFor(() => control.reported.callback.length > 0)
    await server!.close()

    const { store, client, reported } = await start(true)
    const gate = store.hold('set')
    const response = client.get('/twice')
    await gate.arrived
    gate.release()
    const answer = await response
    expect(answer.status).toBe(201)
    expect(answer.body).toBe('first')
    await waitFor(() => reported.callback.length > 0)
    expect({ status: answer.status, body: answer.body, ...reported }).toEqual({
      status: bare.status,
      body: bare.body,
      ...control.reported,
    })
    expect(reported.callback).toEqual(['ERR_STREAM_ALREADY_FINISHED'])
  })
})
