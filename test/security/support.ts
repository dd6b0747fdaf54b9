// Shared tools of the security and concurrency suites: stores that count, fail or hold their calls,
// raw HTTP requests (fetch normalises headers, these do not), and bounded waits.
import { randomBytes } from 'node:crypto'
import { Agent, createServer, type RequestListener, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { sign } from 'cookie-signature'
import { MemoryStore, nativeStore, type SessionRecord, type SessionStore } from '../../src/index.js'

/** The secret every test signs with (32+ characters, so production checks pass). */
export const SECRET = 'security-suite-secret-0123456789abcdef'
/** A second secret, for rotation tests. */
export const OLD_SECRET = 'security-suite-old-secret-0123456789ab'

/** The cookie value (as sent, URL-encoded) that carries `id` signed with `secret`. */
export function signedCookie(id: string, secret: string = SECRET): string {
  return encodeURIComponent(`s:${sign(id, secret)}`)
}

/** The id inside a `Set-Cookie` or cookie value (`s%3A<id>.<sig>`). */
export function idOf(cookieValue: string): string {
  const decoded = decodeURIComponent(cookieValue)
  return decoded.slice(2, decoded.lastIndexOf('.'))
}

type Method = 'get' | 'set' | 'destroy' | 'touch' | 'patch'

/** One recorded store call. */
export interface StoreCall {
  readonly method: Method
  readonly id: string
}

/**
 * A native store around another one that records every call and can hold the next call of a
 * method until the test releases it: the deterministic interleavings of the race tests (the idea
 * of rack-session's Fiber test for CVE-2025-46336).
 */
export class GatedStore implements SessionStore {
  readonly [nativeStore] = true
  readonly calls: StoreCall[] = []
  readonly #inner: SessionStore
  readonly #gates = new Map<Method, Gate[]>()

  constructor(inner: SessionStore) {
    this.#inner = inner
  }

  /**
   * Hold the next call of `method`. For reads (`get`) the inner store is asked at once and the
   * *answer* is held (a stale read delivered late); for writes the call itself is held (a write
   * that lands late).
   */
  hold(method: Method): Gate {
    const gate = new Gate()
    const list = this.#gates.get(method) ?? []
    list.push(gate)
    this.#gates.set(method, list)
    return gate
  }

  count(method: Method): number {
    return this.calls.filter((call) => call.method === method).length
  }

  get(id: string): Promise<unknown> {
    const gate = this.take('get', id)
    const answer = this.#inner.get(id)
    if (gate === undefined) return answer
    return answer.then(async (value) => {
      await gate.wait()
      return value
    })
  }

  async set(id: string, record: SessionRecord): Promise<void> {
    await this.take('set', id)?.wait()
    await this.#inner.set(id, record)
  }

  async destroy(id: string): Promise<void> {
    await this.take('destroy', id)?.wait()
    await this.#inner.destroy(id)
  }

  async touch(id: string, record: SessionRecord): Promise<void> {
    await this.take('touch', id)?.wait()
    await this.#inner.touch?.(id, record)
  }

  /** Record a call and hand out the gate waiting for it, if any. */
  protected take(method: Method, id: string): Gate | undefined {
    this.calls.push({ method, id })
    const gate = this.#gates.get(method)?.shift()
    gate?.arrive()
    return gate
  }
}

/** A native store with atomic `patch` (the memory store's guarantee) around a MemoryStore. */
export class GatedPatchStore extends GatedStore {
  readonly memory: MemoryStore

  constructor(memory: MemoryStore = new MemoryStore({ checkPeriodMs: 0 })) {
    super(memory)
    this.memory = memory
  }

  async patch(
    id: string,
    patch: Parameters<NonNullable<SessionStore['patch']>>[1],
  ): Promise<boolean> {
    await this.take('patch', id)?.wait()
    return this.memory.patch(id, patch)
  }
}

/** A one-shot gate: `arrived` resolves when the held call reaches it, `release()` lets it go. */
export class Gate {
  #arrive!: () => void
  #release!: () => void
  readonly arrived: Promise<void> = new Promise((resolve) => {
    this.#arrive = resolve
  })
  readonly #released: Promise<void> = new Promise((resolve) => {
    this.#release = resolve
  })
  arrive(): void {
    this.#arrive()
  }
  release(): void {
    this.#release()
  }
  wait(): Promise<void> {
    return this.#released
  }
}

/** A promise with its resolve function outside (a gate inside a route handler). */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Let pending I/O and microtasks run a few times (a bounded wait, never a sleep on the clock). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/**
 * Wait until `check()` is true, polling once per I/O turn; throws after `timeoutMs` of the real
 * clock (`process.hrtime`, which fake timers leave alone). A count of turns would depend on how
 * fast the machine is: under load a Redis round trip can take more turns than an idle machine
 * spins in the whole wait.
 */
export async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = process.hrtime.bigint() + BigInt(timeoutMs) * 1_000_000n
  while (process.hrtime.bigint() < deadline) {
    if (check()) return
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  if (check()) return
  throw new Error(`condition not reached within ${timeoutMs} ms`)
}

/** A server with a larger header limit, so 16 KB cookie values reach the middleware. */
export interface RawServer {
  readonly port: number
  readonly server: Server
  readonly agent: Agent
  close(): Promise<void>
}

/** Listen on 127.0.0.1:0 with `maxHeaderSize` raised to 64 KB; keep-alive agent for clients. */
export async function listenRaw(handler: RequestListener): Promise<RawServer> {
  // A long keep-alive: under load, a socket the server closes just as the agent reuses it would
  // fail a request with ECONNRESET, which says nothing about the middleware.
  const server = createServer({ maxHeaderSize: 64 * 1024, keepAliveTimeout: 60_000 }, handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  return {
    port,
    server,
    agent,
    close: () =>
      new Promise<void>((resolve, reject) => {
        agent.destroy()
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}

/** A response read by {@link rawGet}. */
export interface RawResponse {
  readonly status: number
  readonly body: string
  readonly setCookies: string[]
}

/**
 * GET `path` with `cookie` sent byte for byte (latin1), through node:http, which (unlike fetch)
 * neither merges nor re-encodes the header. `maxHeaderSize` lets the client send 16 KB values.
 */
export function rawGet(server: RawServer, path: string, cookie?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        agent: server.agent,
        maxHeaderSize: 64 * 1024,
        headers: cookie === undefined ? {} : { cookie },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            setCookies: res.headers['set-cookie'] ?? [],
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/**
 * One request written on a raw socket: `cookieBytes` go on the wire exactly as given (non-UTF-8
 * bytes, lone `%`, control characters node:http would refuse to send). Resolves the status line.
 */
export function rawSocketGet(port: number, path: string, cookieBytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const head = Buffer.concat(chunks).toString('latin1')
      const match = /^HTTP\/1\.1 (\d{3})/.exec(head)
      resolve(match === null ? 0 : Number(match[1]))
    })
    socket.write(
      Buffer.concat([
        Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: `),
        cookieBytes,
        Buffer.from('\r\n\r\n'),
      ]),
    )
  })
}

/** A random session id of the default shape. */
export function randomId(): string {
  return randomBytes(24).toString('base64url')
}

/**
 * A store that ignores expiry and keeps records as JSON forever (a backend whose TTL sweep has not
 * run yet): what the middleware itself enforces shows up only with such a store.
 */
export class ForeverStore implements SessionStore {
  readonly [nativeStore] = true
  readonly records = new Map<string, string>()
  async get(id: string): Promise<unknown> {
    return this.records.get(id) ?? null
  }
  async set(id: string, record: SessionRecord): Promise<void> {
    this.records.set(id, JSON.stringify(record))
  }
  async destroy(id: string): Promise<void> {
    this.records.delete(id)
  }
}
