// `npm run bench`: typed-session against express-session and bare Express 5, side by side.
// Each server is its own process; autocannon drives them from this one over loopback. Rounds are
// interleaved (A B C, B C A, ...) so drift hits every server alike; ratios are taken per round.
//
// Env: BENCH_DURATION (s per measurement, 5), BENCH_WARMUP (s before each, 1), BENCH_ROUNDS (5),
// BENCH_CONNECTIONS (50), BENCH_FLOWS (read,write,new), BENCH_VARIANTS (all), BENCH_MEMORY
// (0 skips the memory rows), BENCH_MEMORY_SESSIONS (100000), REDIS_URL (redis://127.0.0.1:6379),
// DATABASE_URL (postgres://postgres@127.0.0.1:5432/test, for the connect-pg-simple and PgStore rows),
// TYPED_SESSION_ENTRY (another build's dist/index.js, e.g. of an older commit; default: this one).
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import {
  DATABASE_URL,
  envNumber,
  FLOWS,
  PG_VARIANTS,
  REDIS_URL,
  REDIS_VARIANTS,
  TYPED_VARIANTS,
  VARIANTS,
} from './config.mjs'
import {
  BENCH_DIR,
  ensureBuilt,
  firstLine,
  listFromEnv,
  login,
  pgAnswers,
  redisAnswers,
  startServer,
} from './harness.mjs'

const config = {
  durationSec: envNumber('BENCH_DURATION', 5),
  warmupSec: envNumber('BENCH_WARMUP', 1),
  rounds: envNumber('BENCH_ROUNDS', 5),
  connections: envNumber('BENCH_CONNECTIONS', 50),
  flows: listFromEnv('BENCH_FLOWS', Object.keys(FLOWS)),
  variants: listFromEnv('BENCH_VARIANTS', VARIANTS),
  memory: process.env.BENCH_MEMORY !== '0',
  memorySessions: envNumber('BENCH_MEMORY_SESSIONS', 100_000),
  redisUrl: REDIS_URL,
  typedSessionEntry: process.env.TYPED_SESSION_ENTRY ?? 'dist/index.js',
}

/** Targets of issue 6. `of` is the denominator: bare Express or express-session with that store. */
const TARGETS = [
  { flow: 'read', variant: 'typed-session', of: 'bare', min: 0.85 },
  { flow: 'read', variant: 'typed-session', of: 'express-session', min: 1.5 },
  { flow: 'write', variant: 'typed-session', of: 'bare', min: 0.8 },
  { flow: 'write', variant: 'typed-session', of: 'express-session', min: 1.45 },
  { flow: 'new', variant: 'typed-session', of: 'bare', min: 0.75 },
  { flow: 'new', variant: 'typed-session', of: 'express-session', min: 1.6 },
  { flow: 'read', variant: 'typed-session-redis', of: 'express-session-redis', min: 1.3 },
  { flow: 'write', variant: 'typed-session-redis', of: 'express-session-redis', min: 1.3 },
]

const notes = []
const startedAt = new Date()
const loadAtStart = os.loadavg().map((l) => Math.round(l * 100) / 100)
const log = (...args) => console.error(...args)

await main()

async function main() {
  let variants = config.variants
  if (!variants.includes('bare')) throw new Error('BENCH_VARIANTS must include bare (the limit)')
  if (variants.some((v) => TYPED_VARIANTS.has(v)) || config.memory) ensureBuilt({ log })
  const cores = os.availableParallelism?.() ?? os.cpus().length
  if (loadAtStart[0] > cores / 2) {
    note(
      `load average ${loadAtStart[0]} on ${cores} CPUs before the run: other work competes with ` +
        'the servers and the load generator; expect noisy numbers.',
    )
  }

  if (variants.some((v) => REDIS_VARIANTS.has(v)) && !(await redisAnswers(config.redisUrl))) {
    note(`Redis does not answer at ${config.redisUrl}: connect-redis rows skipped.`)
    variants = variants.filter((v) => !REDIS_VARIANTS.has(v))
  }
  if (variants.some((v) => PG_VARIANTS.has(v)) && !(await pgAnswers(DATABASE_URL))) {
    note(
      `PostgreSQL does not answer at ${DATABASE_URL}: connect-pg-simple and PgStore rows skipped.`,
    )
    variants = variants.filter((v) => !PG_VARIANTS.has(v))
  }

  const servers = new Map()
  try {
    for (const variant of variants) {
      try {
        servers.set(variant, await startServer(variant))
      } catch (err) {
        if (variant === 'bare') throw err
        note(`${variant} did not start, row skipped: ${firstLine(err)}`)
      }
    }
    const running = [...servers.keys()]
    const total = config.rounds * config.flows.length * running.length
    const eta = total * (config.durationSec + config.warmupSec + 0.5) + running.length * 6
    log(
      `bench: ${running.join(', ')} x ${config.flows.join('/')} x ${config.rounds} rounds, ` +
        `${config.connections} connections, ${config.durationSec}s each (+${config.warmupSec}s warm-up); ` +
        `about ${Math.ceil(eta / 60)} min`,
    )

    // One-time warm-up so the first round does not measure the JIT compiler.
    for (const server of servers.values()) {
      for (const flow of config.flows)
        await measure(server, flow, Math.max(2, config.warmupSec), true)
    }

    const samples = []
    for (let round = 0; round < config.rounds; round++) {
      // Rotate the order each round, so no server always runs right after the same neighbour.
      const order = running.map((_, i) => running[(i + round) % running.length])
      for (const flow of config.flows) {
        for (const variant of order) {
          const sample = await measure(servers.get(variant), flow, config.durationSec, false)
          samples.push({ round, flow, variant, ...sample })
          log(
            `round ${round + 1}/${config.rounds} ${flow.padEnd(5)} ${variant.padEnd(21)} ` +
              `${sample.rps.toFixed(0).padStart(6)} req/s  p99 ${sample.p99Ms} ms  ` +
              `cpu ${sample.cpuUsPerReq.toFixed(1)} us/req`,
          )
        }
      }
    }

    const summary = summarize(samples, running)
    const memory = config.memory ? await measureMemory() : []
    const targets = evaluateTargets(summary, memory)
    const machine = machineFacts()
    const report = renderReport({ summary, memory, targets, machine })
    console.log(report)

    const dir = join(BENCH_DIR, 'results')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
    writeFileSync(
      file,
      `${JSON.stringify({ startedAt, machine, config, notes, samples, summary, memory, targets }, null, 2)}\n`,
    )
    log(`raw numbers: ${file}`)
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop().catch(() => {})))
  }
}

/** Reset the server (empty store), log sessions in, warm up, then measure `seconds` of load. */
async function measure(server, flow, seconds, warmupOnly) {
  const { path, withCookie } = FLOWS[flow]
  await server.command('reset')
  const cookies = withCookie ? await login(server.port, server.variant, config.connections) : []
  const load = (duration) => {
    let next = 0
    return autocannon({
      url: `http://127.0.0.1:${server.port}${path}`,
      connections: config.connections,
      duration,
      // One session per connection, as with 50 real visitors (not 50 tabs of one session).
      setupClient: withCookie
        ? (client) => client.setHeaders({ cookie: cookies[next++ % cookies.length] })
        : undefined,
    })
  }
  if (warmupOnly) {
    await load(seconds)
    return undefined
  }
  if (config.warmupSec > 0) await load(config.warmupSec)
  const before = await server.command('cpu')
  const result = await load(seconds)
  const after = await server.command('cpu')
  const cpuUs = after.cpu.user - before.cpu.user + (after.cpu.system - before.cpu.system)
  const requests = result.requests.total
  const sample = {
    rps: requests / result.duration,
    requests,
    durationSec: result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuUsPerReq: requests > 0 ? cpuUs / requests : 0,
    heapUsedMb: Math.round(after.memory.heapUsed / 1e5) / 10,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  }
  if (sample.errors || sample.timeouts || sample.non2xx) {
    note(
      `${server.variant} ${flow}: ${sample.errors} errors, ${sample.timeouts} timeouts, ` +
        `${sample.non2xx} non-2xx responses`,
    )
  }
  return sample
}

function summarize(samples, running) {
  const rows = []
  for (const flow of config.flows) {
    for (const variant of running) {
      const mine = samples.filter((s) => s.flow === flow && s.variant === variant)
      const vsBare = mine.map((s) => s.rps / rpsOf(samples, s.round, flow, 'bare'))
      const baseline = variant.includes('redis')
        ? 'express-session-redis'
        : variant.includes('pg')
          ? 'express-session-pg'
          : 'express-session'
      const vsExpressSession =
        variant.startsWith('typed-session') && running.includes(baseline)
          ? median(mine.map((s) => s.rps / rpsOf(samples, s.round, flow, baseline)))
          : undefined
      rows.push({
        flow,
        variant,
        rps: median(mine.map((s) => s.rps)),
        p99Ms: median(mine.map((s) => s.p99Ms)),
        cpuUsPerReq: median(mine.map((s) => s.cpuUsPerReq)),
        vsBare: median(vsBare),
        vsExpressSession,
        rounds: mine.length,
      })
    }
  }
  return rows
}

function rpsOf(samples, round, flow, variant) {
  return samples.find((s) => s.round === round && s.flow === flow && s.variant === variant)?.rps
}

/** Bytes per session of each memory store, each in its own `node --expose-gc` process. */
async function measureMemory() {
  const rows = []
  for (const store of ['express-session', 'typed-session']) {
    log(`memory: ${store} MemoryStore with ${config.memorySessions} sessions`)
    try {
      rows.push(await runMemoryChild(store))
    } catch (err) {
      note(`memory row for ${store} skipped: ${firstLine(err)}`)
    }
  }
  return rows
}

function runMemoryChild(store) {
  const args = ['--expose-gc', join(BENCH_DIR, 'memory.mjs'), store, String(config.memorySessions)]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => {
      out += c
    })
    child.stderr.on('data', (c) => {
      err += c
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      const lines = err.trim().split('\n')
      const reason = lines.find((l) => /Error/.test(l)) ?? lines.at(-1)
      if (code !== 0) return reject(new Error(reason || `exit ${code}`))
      resolve(JSON.parse(out.trim().split('\n').at(-1)))
    })
  })
}

function evaluateTargets(summary, memory) {
  const results = []
  for (const t of TARGETS) {
    const row = summary.find((r) => r.flow === t.flow && r.variant === t.variant)
    if (!row) continue
    const value = t.of === 'bare' ? row.vsBare : row.vsExpressSession
    if (value === undefined) continue
    results.push({ ...t, kind: '>=', value, met: value >= t.min })
  }
  const es = memory.find((m) => m.store === 'express-session')
  const ts = memory.find((m) => m.store === 'typed-session')
  if (es && ts) {
    const value = ts.bytesPerSession / es.bytesPerSession
    results.push({
      flow: 'memory',
      variant: 'typed-session',
      of: 'express-session',
      kind: '<=',
      max: 1,
      value,
      met: value <= 1,
    })
  }
  return results
}

function renderReport({ summary, memory, targets, machine }) {
  const lines = []
  lines.push('')
  lines.push(
    `Machine: ${machine.nproc} CPUs (${machine.cpuModel}), Node ${machine.node}, ${machine.platform}; ` +
      `${config.connections} connections, ${config.rounds} rounds x ${config.durationSec}s ` +
      `(+${config.warmupSec}s warm-up), medians over rounds. Load average ${machine.loadAvgAtStart[0]} ` +
      `at start, ${machine.loadAvgAtEnd[0]} at end.`,
  )
  lines.push('')
  lines.push('| flow | server | req/s | p99 ms | x bare | x express-session | server CPU us/req |')
  lines.push('|---|---|---:|---:|---:|---:|---:|')
  for (const r of summary) {
    lines.push(
      `| ${r.flow} | ${r.variant} | ${r.rps.toFixed(0)} | ${r.p99Ms} | ${r.vsBare.toFixed(2)} | ` +
        `${r.vsExpressSession === undefined ? '' : r.vsExpressSession.toFixed(2)} | ${r.cpuUsPerReq.toFixed(1)} |`,
    )
  }
  if (memory.length > 0) {
    lines.push('')
    lines.push(
      `| memory store | bytes per session (${config.memorySessions} held) | heap delta MB |`,
    )
    lines.push('|---|---:|---:|')
    for (const m of memory) {
      lines.push(
        `| ${m.store} | ${m.bytesPerSession.toFixed(0)} | ${(m.heapDeltaBytes / 1e6).toFixed(1)} |`,
      )
    }
  }
  if (targets.length > 0) {
    lines.push('')
    lines.push('| target (issue 6) | wanted | measured | |')
    lines.push('|---|---:|---:|---|')
    for (const t of targets) {
      const what =
        t.flow === 'memory'
          ? 'memory bytes/session, typed-session / express-session'
          : `${t.flow}, ${t.variant} / ${t.of}`
      const wanted = t.kind === '>=' ? `>= ${t.min}` : `<= ${t.max}`
      lines.push(`| ${what} | ${wanted} | ${t.value.toFixed(2)} | ${t.met ? 'met' : 'MISSED'} |`)
    }
  }
  for (const n of notes) lines.push('', `Note: ${n}`)
  return lines.join('\n')
}

function machineFacts() {
  const cpus = os.cpus()
  return {
    nproc: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemGb: Math.round(os.totalmem() / 1e8) / 10,
    // Other work on the machine skews every row; the load average says how much there was.
    loadAvgAtStart: loadAtStart,
    loadAvgAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
  }
}

function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function note(text) {
  notes.push(text)
  log(`note: ${text}`)
}
