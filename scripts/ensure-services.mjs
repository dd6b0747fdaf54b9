// Brings up what the test suite needs on a fresh machine of this kind: Redis, PostgreSQL,
// Chromium (the browser test) and valgrind (the instruction-count smoke test). Starts or installs what it can (as root); otherwise fails with the exact command to
// run. It never lets a test be skipped silently.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'

const REDIS_START =
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'
const PG_START = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
const isRoot = process.getuid?.() === 0

/** Whether something accepts TCP connections on host:port within timeoutMs. */
function answers(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** Poll until the port answers, at most `tries` times half a second apart. */
async function waitFor(host, port, tries = 40) {
  for (let i = 0; i < tries; i++) {
    if (await answers(host, port)) return true
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  return false
}

function run(command) {
  const result = spawnSync('bash', ['-c', command], { stdio: 'inherit' })
  return result.status === 0
}

async function ensureService(name, port, start) {
  if (process.env[`${name.toUpperCase()}_URL`] !== undefined) return // the user points elsewhere
  if (await answers('127.0.0.1', port)) return
  console.log(`[ensure-services] ${name} is not answering on 127.0.0.1:${port}; starting it`)
  if (run(start) && (await waitFor('127.0.0.1', port))) return
  throw new Error(`${name} is not running on 127.0.0.1:${port}. Start it with:\n  ${start}`)
}

/** Install the Debian package `name` (as root) unless `path` exists; else fail with the command. */
function ensurePackage(name, path, neededBy) {
  if (existsSync(path)) return
  const install = `apt-get update && apt-get install -y ${name}`
  if (isRoot) {
    console.log(`[ensure-services] installing Debian ${name} for ${neededBy}`)
    if (run(`DEBIAN_FRONTEND=noninteractive bash -c '${install}'`) && existsSync(path)) return
  }
  throw new Error(`${name} is missing (${neededBy} needs ${path}). Install it with:\n  ${install}`)
}

try {
  await ensureService('redis', 6379, REDIS_START)
  await ensureService('database', 5432, PG_START)
  ensurePackage('chromium', '/usr/bin/chromium', 'the browser test')
  ensurePackage('valgrind', '/usr/bin/valgrind', 'the instruction-count smoke test')
} catch (error) {
  console.error(`\n[ensure-services] ${error.message}\n`)
  process.exit(1)
}
