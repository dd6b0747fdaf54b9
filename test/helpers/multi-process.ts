// Several app server processes on loopback, driven from a test: the deployment that breaks
// in-process guarantees (cluster workers, containers behind a load balancer on one store). Each
// child runs an app script (see multi-process-child.mjs for the child side), reports its port
// over IPC, and can hold requests at named barriers the test releases: interleavings across
// processes are driven by the test, never by timing.
import { type ChildProcess, fork } from 'node:child_process'

/** Options of {@link startServerProcesses}. */
export interface ServerProcessOptions {
  /** How many processes. */
  readonly count: number
  /** Absolute path of the app script each child runs (an ES module using multi-process-child.mjs). */
  readonly script: string
  /** Environment for every child, on top of this process' environment. */
  readonly env?: Readonly<Record<string, string>>
  /** Bound on each child's start-up (module loading, store connection). @default 60000 */
  readonly readyTimeoutMs?: number
}

/** A group of running server processes. */
export interface ServerProcesses {
  /** `http://127.0.0.1:<port>` of each process, in start order. */
  readonly urls: readonly string[]
  /** The pid of each process. */
  readonly pids: readonly number[]
  /**
   * Resolve once `count` requests (over all processes) have reached barrier `name`; reject after
   * `timeoutMs` saying how many did.
   */
  arrived(name: string, count: number, timeoutMs?: number): Promise<void>
  /** Let every request waiting at barrier `name` go on, and any that arrives later too. */
  release(name: string): void
  /** Stop every process by its pid (SIGTERM, then SIGKILL after 5 s) and wait for the exits. */
  close(): Promise<void>
}

/** One HTTP answer. */
export interface ProcessResponse {
  readonly status: number
  readonly body: string
  readonly setCookies: string[]
}

interface Barrier {
  arrivals: number
  released: boolean
  waiters: Array<() => void>
}

const DEFAULT_BARRIER_TIMEOUT_MS = 30_000

/** Start `count` children running `script`; resolves when every one listens. */
export async function startServerProcesses(
  options: ServerProcessOptions,
): Promise<ServerProcesses> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000
  const barriers = new Map<string, Barrier>()
  const barrier = (name: string): Barrier => {
    let b = barriers.get(name)
    if (b === undefined) {
      b = { arrivals: 0, released: false, waiters: [] }
      barriers.set(name, b)
    }
    return b
  }
  const children: ChildProcess[] = []
  const urls: string[] = []
  const close = async (): Promise<void> => {
    await Promise.all(children.map(stopChild))
  }
  try {
    for (let i = 0; i < options.count; i++) {
      const child = fork(options.script, [], {
        env: { ...process.env, ...options.env, SERVER_INDEX: String(i) },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      })
      children.push(child)
      let output = ''
      const keep = (chunk: Buffer): void => {
        output = (output + chunk.toString()).slice(-4000)
      }
      child.stdout?.on('data', keep)
      child.stderr?.on('data', keep)
      child.on('message', (message: { type?: string; name?: string }) => {
        if (message?.type !== 'arrive' || typeof message.name !== 'string') return
        const b = barrier(message.name)
        b.arrivals++
        if (b.released) child.send({ type: 'release', name: message.name })
        for (const wake of b.waiters.splice(0)) wake()
      })
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`server process ${i} not ready in ${readyTimeoutMs} ms:\n${output}`)),
          readyTimeoutMs,
        )
        child.on('message', (message: { type?: string; port?: number }) => {
          if (message?.type !== 'ready' || typeof message.port !== 'number') return
          clearTimeout(timer)
          resolve(message.port)
        })
        child.once('exit', (code, signal) => {
          clearTimeout(timer)
          reject(
            new Error(
              `server process ${i} exited (${code ?? signal}) before listening:\n${output}`,
            ),
          )
        })
      })
      urls.push(`http://127.0.0.1:${port}`)
    }
  } catch (err) {
    await close()
    throw err
  }
  return {
    urls,
    pids: children.map((child) => child.pid!),
    arrived(name, count, timeoutMs = DEFAULT_BARRIER_TIMEOUT_MS) {
      const b = barrier(name)
      return new Promise((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined
        const check = (): void => {
          if (b.arrivals < count) {
            b.waiters.push(check)
            return
          }
          clearTimeout(timer)
          resolve()
        }
        timer = setTimeout(
          () =>
            reject(
              new Error(`barrier ${name}: ${b.arrivals} of ${count} arrived in ${timeoutMs} ms`),
            ),
          timeoutMs,
        )
        check()
      })
    },
    release(name) {
      barrier(name).released = true
      for (const child of children) if (child.connected) child.send({ type: 'release', name })
    },
    close,
  }
}

/** GET `path` on `baseUrl`, sending `cookie` (a `name=value` pair) when given. */
export async function requestWithCookie(
  baseUrl: string,
  path: string,
  cookie?: string,
): Promise<ProcessResponse> {
  const response = await fetch(baseUrl + path, {
    headers: cookie === undefined ? {} : { cookie },
    redirect: 'manual',
  })
  return {
    status: response.status,
    body: await response.text(),
    setCookies: response.headers.getSetCookie(),
  }
}

/** The `name=value` pair of the first `Set-Cookie` of a response, or `undefined`. */
export function cookiePair(response: ProcessResponse): string | undefined {
  const line = response.setCookies[0]
  return line === undefined ? undefined : line.split(';')[0]
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  process.kill(child.pid, 'SIGTERM')
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
      process.kill(child.pid, 'SIGKILL')
  }, 5000)
  await exited
  clearTimeout(timer)
}
