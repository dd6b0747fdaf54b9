// Helpers shared by run.mjs, memory.mjs, profile.mjs and test/bench-smoke.test.ts: start and drive
// server processes, log sessions in, make sure dist/ is built from the current src/.
import { fork, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { COOKIE_NAME, REDIS_URL } from './config.mjs'

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
export const ROOT = dirname(BENCH_DIR)

/** A cookie header for clients without a session: same size as a real one, never valid. */
export const DUMMY_COOKIE = `${COOKIE_NAME}=s%3A${'x'.repeat(32)}.${'y'.repeat(43)}`

/**
 * Fork `bench/server.mjs <variant>` and wait for its port. `env` is added to this process's
 * environment for the server (bench/icount.mjs's BENCH_* settings).
 * @param {string} variant
 * @param {{ execArgv?: string[], execPath?: string, timeoutMs?: number, quiet?: boolean,
 *   env?: Record<string, string> }} [options]
 * @returns {Promise<{ variant: string, port: number, child: import('node:child_process').ChildProcess,
 *   command: (cmd: string) => Promise<Record<string, unknown>>, stop: () => Promise<void> }>}
 */
export function startServer(
  variant,
  { execArgv = [], execPath = process.execPath, timeoutMs = 15_000, quiet = false, env = {} } = {},
) {
  // `execPath` other than node: a wrapper that ends in node, e.g. valgrind (bench/icount.mjs).
  const child = fork(join(BENCH_DIR, 'server.mjs'), [variant], {
    execArgv,
    execPath,
    env: { ...process.env, ...env },
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
    if (!quiet) process.stderr.write(chunk)
  })
  let nextId = 0
  const pending = new Map()
  let exited = false
  const exitPromise = new Promise((resolve) => child.once('exit', resolve))

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${variant}: server did not start in ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
    child.once('exit', (code, signal) => {
      exited = true
      clearTimeout(timer)
      for (const { reject: rej } of pending.values()) rej(new Error(`${variant} exited (${code})`))
      pending.clear()
      reject(
        new Error(`${variant}: server exited (${code ?? signal}) before ready\n${stderr.trim()}`),
      )
    })
    child.on('message', (message) => {
      if (message?.type === 'ready') {
        clearTimeout(timer)
        resolve({ variant, port: message.port, child, command, stop })
        return
      }
      const waiter = pending.get(message?.id)
      if (!waiter) return
      pending.delete(message.id)
      if (message.ok) waiter.resolve(message)
      else waiter.reject(new Error(`${variant}: ${message.error}`))
    })
  })

  function command(cmd, timeout = 30_000) {
    if (exited) return Promise.reject(new Error(`${variant} has exited`))
    const id = ++nextId
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error(`${variant}: no answer to ${cmd} in ${timeout} ms`))
      }, timeout)
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      child.send({ id, cmd })
    })
  }

  async function stop() {
    if (exited) return
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await command('stop').catch(() => child.kill('SIGKILL'))
    await exitPromise
    clearTimeout(timer)
  }
}

/** `name=value` of the session cookie in a response, or undefined. */
export function sessionCookieOf(response) {
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(';', 1)[0]
    if (pair.startsWith(`${COOKIE_NAME}=`)) return pair
  }
  return undefined
}

/**
 * Log `count` fresh sessions in and return their cookies (for `bare`, the dummy cookie). Every
 * session-backed login must set a cookie; anything else means the server is broken.
 */
export async function login(port, variant, count) {
  const cookies = []
  for (let i = 0; i < count; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/login`)
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`${variant}: /login answered ${res.status}`)
    const cookie = sessionCookieOf(res)
    if (variant === 'bare') cookies.push(DUMMY_COOKIE)
    else if (cookie) cookies.push(cookie)
    else throw new Error(`${variant}: /login set no session cookie`)
  }
  return cookies
}

/**
 * The built package: `TYPED_SESSION_ENTRY` (a path to another build's ESM entry, e.g. of an older
 * commit, to compare two builds) or this package by name (self-reference through package.json
 * `exports`), else `dist/index.js` directly.
 */
export async function importTypedSession(subpath) {
  const entry = process.env.TYPED_SESSION_ENTRY
  // A subpath entry (`redis`, `pg`) sits beside the other build's index.js.
  if (entry)
    return await import(pathToFileURL(subpath ? join(dirname(entry), `${subpath}.js`) : entry).href)
  try {
    return await import(subpath ? `${BUILT_BY_NAME}/${subpath}` : BUILT_BY_NAME)
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' && err?.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED')
      throw err
    return await import(subpath ? `../dist/${subpath}.js` : BUILT_BY_PATH)
  }
}

// Specifiers in variables: the test program (tsconfig.test.json) compiles src/, and a literal
// import here would add the built dist/index.d.ts to it, a second copy of the package's
// `Request` augmentation (TS2300 on its `session` accessor).
const BUILT_BY_NAME = 'typed-session'
const BUILT_BY_PATH = '../dist/index.js'

/** Newest modification time under a directory, in ms. */
function newestMtime(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath ?? entry.path, entry.name)
    newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

/** True when dist/ is missing or older than anything in src/ (or the build config). */
export function isBuildStale() {
  const built = join(ROOT, 'dist', 'index.js')
  if (!existsSync(built)) return true
  const sources = Math.max(
    newestMtime(join(ROOT, 'src')),
    statSync(join(ROOT, 'tsup.config.ts')).mtimeMs,
    statSync(join(ROOT, 'package.json')).mtimeMs,
  )
  return statSync(built).mtimeMs < sources
}

/** Run `npm run build` when dist/ is stale. Throws when the build fails. */
export function ensureBuilt({ log = console.log } = {}) {
  if (process.env.TYPED_SESSION_ENTRY) {
    log(`typed-session from TYPED_SESSION_ENTRY=${process.env.TYPED_SESSION_ENTRY} (no build)`)
    return false
  }
  if (!isBuildStale()) return false
  log('dist/ is missing or older than src/: running npm run build')
  // Build chatter goes to stderr: stdout carries the report.
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] })
  if (result.status === 0) return true
  // tsup writes the JS bundles before the declaration build; a type error there leaves fresh
  // JavaScript, which is all the bench runs. Say so, and go on.
  if (!isBuildStale()) {
    log('npm run build failed after writing fresh JavaScript (declaration build?): benchmarking it')
    return true
  }
  throw new Error(`npm run build failed (${result.status ?? result.signal})`)
}

/** Does Redis answer PING at REDIS_URL within a second or two? */
export async function redisAnswers(url = REDIS_URL) {
  const { createClient } = await import('redis')
  const client = createClient({ url, socket: { connectTimeout: 1500, reconnectStrategy: false } })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    if (client.isOpen) await client.close().catch(() => {})
  }
}

/** Whether PostgreSQL at `url` answers `SELECT 1` (the PostgreSQL rows are skipped otherwise). */
export async function pgAnswers(url) {
  const pg = (await import('pg')).default
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** The names `name` (comma-separated, in the environment) picks from `all`; all of them when unset. */
export function listFromEnv(name, all) {
  const raw = process.env[name]
  if (!raw) return all
  const picked = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const unknown = picked.filter((p) => !all.includes(p))
  if (unknown.length > 0)
    throw new Error(`${name}: unknown ${unknown.join(', ')} (known: ${all.join(', ')})`)
  return all.filter((a) => picked.includes(a))
}

/** The first non-empty line of an error's message, for one-line notes. */
export function firstLine(err) {
  return (
    String(err?.message ?? err)
      .split('\n')
      .find((l) => l.trim()) ?? String(err)
  )
}
