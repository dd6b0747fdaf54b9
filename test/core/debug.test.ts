/*
 * NODE_DEBUG=typed-session: each event and each store failure is one stderr line, ids only hashed;
 * without it, nothing is printed. Node reads NODE_DEBUG once at startup, so the server runs in a
 * child process, on the BUILT package (`npm run build` first; `npm test` does).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'

const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url))
// Start-up is CPU work a busy machine slows down; the bound only stops a hang.
const START_BOUND_MS = 60_000

/** A server with a store that fails every call for ids of sessions that asked for it. */
const SERVER = `
import { createServer } from 'node:http'
import { MemoryStore, nativeStore, session } from ${JSON.stringify(DIST)}
const memory = new MemoryStore()
const broken = new Set()
const store = {
  [nativeStore]: true,
  get: (id) => (broken.has(id) ? Promise.reject(new Error('connection reset reading sess:' + id)) : memory.get(id)),
  set: (id, record) => memory.set(id, record),
  destroy: (id) => memory.destroy(id),
}
const schema = { '~standard': { version: 1, vendor: 'test', validate: (value) => ({ value: { views: 0, ...value } }) } }
const middleware = session({ schema, secret: 'a-test-secret-that-is-32-chars-long!', store })
const server = createServer((req, res) => {
  middleware(req, res, (err) => {
    if (err) { res.statusCode = err.status ?? 500; res.end(err.code); return }
    if (req.url === '/break') broken.add(req.sessionID)
    req.session.views += 1
    res.end(req.sessionID)
  })
})
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port))
`

interface Server {
  readonly child: ChildProcess
  readonly url: string
  readonly stderr: () => string
  /** Resolves once `count` debug lines have arrived (stderr is read asynchronously). */
  readonly lines: (count: number) => Promise<string[]>
}

const children: ChildProcess[] = []

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first`)
})

afterEach(() => {
  for (const child of children.splice(0)) child.kill()
})

function start(env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER], {
    env: { ...process.env, NODE_DEBUG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  return new Promise((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(
      () => reject(new Error(`no port within ${START_BOUND_MS} ms`)),
      START_BOUND_MS,
    )
    child.stdout?.on('data', (chunk) => {
      stdout += chunk
      const port = /port (\d+)/.exec(stdout)?.[1]
      if (port === undefined) return
      clearTimeout(timer)
      const server: Server = {
        child,
        url: `http://127.0.0.1:${port}`,
        stderr: () => stderr,
        lines: (count) => waitForLines(server, count),
      }
      resolve(server)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited (${code}):\n${stderr}`))
    })
  })
}

async function get(server: Server, path: string, cookie?: string) {
  const res = await fetch(server.url + path, { headers: cookie ? { cookie } : {} })
  return {
    status: res.status,
    body: await res.text(),
    cookie: res.headers.get('set-cookie')?.split(';')[0],
  }
}

function waitForLines(server: Server, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const lines = debugLines(server)
      if (lines.length < count) return
      clearTimeout(timer)
      server.child.stderr?.off('data', check)
      resolve(lines)
    }
    const timer = setTimeout(() => {
      server.child.stderr?.off('data', check)
      reject(
        new Error(
          `fewer than ${count} debug lines within ${START_BOUND_MS} ms:\n${server.stderr()}`,
        ),
      )
    }, START_BOUND_MS)
    server.child.stderr?.on('data', check)
    check()
  })
}

/** The debug lines printed so far, without the `TYPED-SESSION <pid>: ` prefix. */
function debugLines(server: Server): string[] {
  const pid = server.child.pid
  return server
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith(`TYPED-SESSION ${pid}: `))
    .map((line) => line.slice(`TYPED-SESSION ${pid}: `.length))
}

describe('NODE_DEBUG=typed-session', () => {
  it(
    'prints a tampered cookie and a store failure as one line each, ids hashed',
    async () => {
      const server = await start({ NODE_DEBUG: 'typed-session' })
      const created = await get(server, '/')
      const id = created.body
      expect(created.cookie).toMatch(/^sid=s%3A/)
      const tampered = created.cookie!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))
      expect((await get(server, '/', tampered)).status).toBe(200) // a fresh session
      expect(await server.lines(1)).toEqual(['event invalid_signature'])

      await get(server, '/break', created.cookie)
      const failed = await get(server, '/', created.cookie)
      expect(failed).toMatchObject({ status: 503, body: 'ERR_SESSION_STORE' })
      const lines = await server.lines(2)
      expect(lines).toHaveLength(2)
      expect(lines[1]).toMatch(
        /^store get failed id=[\w-]{16}: ERR_SESSION_STORE Session store store\.get failed: connection reset reading sess:\[session id\]$/,
      )
      expect(server.stderr()).not.toContain(id)
    },
    START_BOUND_MS + 10_000,
  )

  it(
    'prints nothing when NODE_DEBUG does not name typed-session',
    async () => {
      const server = await start({ NODE_DEBUG: 'http2' })
      const created = await get(server, '/')
      await get(
        server,
        '/',
        created.cookie!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
      )
      await get(server, '/break', created.cookie)
      expect((await get(server, '/', created.cookie)).status).toBe(503)
      expect(server.stderr()).not.toMatch(/TYPED-SESSION/)
    },
    START_BOUND_MS + 10_000,
  )
})
