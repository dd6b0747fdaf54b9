// `npm run bench:icount`: instructions per request, counted by valgrind's callgrind, for bare
// Express 5, express-session and typed-session on the same routes (bench/server.mjs).
//
// Why instructions: on a shared machine wall-clock throughput moves by +-10-30% between runs, so
// it cannot steer optimisation; the number of instructions the server executes for the same work
// is the same on every run (two runs of every row agree within 0.7%: bench/RESULTS.md).
//
// How: every (server, flow) pair gets its own server process, started as
// `valgrind --tool=callgrind node <fixed V8 flags> bench/server.mjs <variant>` (fork() with
// valgrind as the exec path, so the IPC channel of bench/harness.mjs still works). This process
// sends W warm-up requests over one keep-alive connection, one at a time, asks the server for a
// full GC (see below), then zeroes callgrind's counters (`vgdb --pid=<pid> zero`), sends N more,
// and dumps (`vgdb --pid=<pid> dump`). The dump's total divided by N is the figure. The server is
// idle in epoll_wait at both commands: vgdb interrupts it with ptrace, so the window holds exactly
// those N requests and the idle loop around them. (callgrind_control -z / -d do the same through
// vgdb; `--toggle-collect` cannot be used because V8's JIT code has no symbols valgrind can see;
// client requests would need a native addon.)
//
// What makes two runs agree (2026-12-02, bench/RESULTS.md). Express gives every request's `req`
// and `res` a hidden class of their own; optimised code holds those classes weakly, and every full
// GC deoptimises the code whose classes died ("marking dependent code for deoptimization, reason:
// weak objects" in node --trace-deopt), which is then compiled again. That is steady-state cost,
// but which code dies depends on the request a full GC lands in, and V8 starts one when an
// allocation fails: a few bytes more or less anywhere (a pid, a port, a timestamp, a random id)
// move it to another request, and from there the compiler's work diverges. Two runs of a
// 12,000-request window with V8's own schedule differed by up to 7.2%, nearly all of it compiler.
// So the full GCs follow a schedule of the benchmark's own (BENCH_GC_GROWTH_BYTES, see
// bench/server.mjs): every 100 requests, a route handler looks at how much the old generation has
// grown since the last full GC, and past ICOUNT_GC_GROWTH_MB (32 MB, about where V8 itself started
// one here) collects there and then. V8's own trigger is set far above that
// (--heap-growing-percent=1000). Inside a handler, not between two requests: a GC between
// requests finds nothing of a request alive, and then kills nearly twice as much optimised code
// (typed-session `write`: 392 TurboFan compilations in the window instead of 207 with V8's own
// schedule; from inside the handler, 175-184). The number of full GCs in the window is in the
// JSON (`fullGcs`); the window starts right after one, made in the request before it.
// The other sources of spread are fixed too (see STEADY_V8_FLAGS): a fixed young generation
// (--min/--max-semi-space-size) and no scavenge task, so scavenges fall at the same allocation
// volume; --single-threaded (no background compiler or GC thread); fixed --hash-seed /
// --random-seed; no bytecode flushing; and no `Date` response header (BENCH_DATE_HEADER=0, see
// bench/server.mjs: its cost is per second, not per request).
//
// Usage: node bench/icount.mjs [--short] [--json <file>]
// Env: ICOUNT_WARMUP (5000), ICOUNT_REQUESTS (12000), ICOUNT_FLOWS (read,write,new),
//      ICOUNT_VARIANTS (all of bench/config.mjs), ICOUNT_JOBS (servers under valgrind at once, 2),
//      ICOUNT_SEMI_SPACE_MB (16), ICOUNT_GC_GROWTH_MB (32),
//      ICOUNT_NODE_FLAGS (extra node flags, e.g. --perf-basic-prof),
//      ICOUNT_KEEP (1: keep the callgrind files, for callgrind_annotate / bench/icount-profile.mjs),
//      REDIS_URL, TYPED_SESSION_ENTRY (as for npm run bench).
// --short: 100 warm-up + 50 counted requests of the `read` flow, typed-session only (one server
// under valgrind): the smoke test that `npm test` runs (test/bench-icount.test.ts). Its number
// is not comparable with anything.
import { execFile, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import os from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { envNumber, FLOWS, REDIS_URL, REDIS_VARIANTS, TYPED_VARIANTS, VARIANTS } from './config.mjs'
import {
  BENCH_DIR,
  ensureBuilt,
  firstLine,
  listFromEnv,
  login,
  redisAnswers,
  startServer,
} from './harness.mjs'
import { groupsOf, profileOf } from './icount-profile.mjs'

const run = promisify(execFile)
const args = process.argv.slice(2)
const short = args.includes('--short')
const jsonArg = args.indexOf('--json')

/**
 * V8 flags that make runs comparable (why each: the comments), beside the fixed young generation
 * (--min/--max-semi-space-size) that countOne adds.
 */
const STEADY_V8_FLAGS = [
  '--single-threaded',
  // Full GCs on the benchmark's schedule (the comment at the top): an old generation allowed to
  // grow to 11 times what survives a full GC (about 110 MB here, far above the schedule's 32 MB),
  // no memory reducer (timers), no incremental marking (its step sizes follow measured marking
  // speed). --predictable-gc-schedule would do some of this but forces 4 MB semi-spaces.
  '--heap-growing-percent=1000',
  '--no-memory-reducer',
  '--no-incremental-marking',
  // Bytecode of functions idle for a few GCs is dropped and compiled again later: a GC-age
  // heuristic that would put compile work into some windows and not others.
  '--no-flush-bytecode',
  // Scavenges only when the young generation is full: V8 otherwise starts one from a task when
  // it is nearly full, and where the event loop runs that task is timing-dependent.
  '--no-minor-gc-task',
  // Fixed seeds: V8 picks its string-hash seed and its own RNG seed at random per process, which
  // changes hash-table layouts and so how much work (and how many optimisations and
  // deoptimisations) a run does. Two runs of typed-session `read` were 16% apart without these;
  // with them, 1.0% (without the compiler's share: the same to 0.1%).
  '--hash-seed=1',
  '--random-seed=1',
]

export const config = {
  short,
  warmup: short ? 100 : envNumber('ICOUNT_WARMUP', 5000),
  requests: short ? 50 : envNumber('ICOUNT_REQUESTS', 12000),
  flows: short ? ['read'] : listFromEnv('ICOUNT_FLOWS', Object.keys(FLOWS)),
  variants: short ? ['typed-session'] : listFromEnv('ICOUNT_VARIANTS', VARIANTS),
  jobs: envNumber('ICOUNT_JOBS', 2),
  semiSpaceMb: envNumber('ICOUNT_SEMI_SPACE_MB', 16),
  gcGrowthBytes: envNumber('ICOUNT_GC_GROWTH_MB', 32) * 1024 * 1024,
  extraNodeFlags: (process.env.ICOUNT_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  keep: process.env.ICOUNT_KEEP === '1',
  redisUrl: REDIS_URL,
  typedSessionEntry: process.env.TYPED_SESSION_ENTRY ?? 'dist/index.js',
}

/** Targets of issue 15, in instructions: ratio = instructions of `of` / instructions of `variant`. */
const TARGETS = [
  { flow: 'read', variant: 'typed-session', of: 'bare', min: 0.85 },
  { flow: 'write', variant: 'typed-session', of: 'bare', min: 0.8 },
  { flow: 'new', variant: 'typed-session', of: 'bare', min: 0.82 },
  { flow: 'read', variant: 'typed-session', of: 'express-session', min: 1.4 },
  { flow: 'write', variant: 'typed-session', of: 'express-session', min: 1.4 },
  { flow: 'new', variant: 'typed-session', of: 'express-session', min: 1.4 },
]

/** Requests sent twice because a kept-alive socket was reset (see `sequential`). */
let retries = 0

const log = (...a) => console.error(...a)
const notes = []
const note = (text) => {
  notes.push(text)
  log(`note: ${text}`)
}

await main()

async function main() {
  const startedAt = new Date()
  const vg = spawnSync('valgrind', ['--version'], { encoding: 'utf8' })
  if (vg.status !== 0) {
    log('valgrind is not installed (apt-get install valgrind): nothing to count')
    process.exit(2)
  }
  let variants = config.variants
  if (variants.some((v) => TYPED_VARIANTS.has(v))) ensureBuilt({ log })
  if (variants.some((v) => REDIS_VARIANTS.has(v)) && !(await redisAnswers(config.redisUrl))) {
    note(`Redis does not answer at ${config.redisUrl}: Redis rows skipped.`)
    variants = variants.filter((v) => !REDIS_VARIANTS.has(v))
  }
  const jobs = []
  for (const flow of config.flows) for (const variant of variants) jobs.push({ variant, flow })
  log(
    `icount: ${variants.join(', ')} x ${config.flows.join('/')}, ${config.warmup} warm-up + ` +
      `${config.requests} counted requests each, ${config.jobs} at a time (${vg.stdout.trim()})`,
  )

  const results = []
  const queue = [...jobs]
  const workers = Array.from({ length: Math.min(config.jobs, jobs.length) }, async () => {
    while (queue.length > 0) {
      const job = queue.shift()
      const t0 = Date.now()
      try {
        const result = await countOne(job.variant, job.flow)
        results.push(result)
        log(
          `${job.flow.padEnd(5)} ${job.variant.padEnd(24)} ${fmtK(result.perRequest).padStart(8)} ` +
            `instructions/request (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
        )
      } catch (err) {
        if (job.variant === 'bare' || config.short) throw err
        note(`${job.variant} ${job.flow} failed, row skipped: ${firstLine(err)}`)
      }
    }
  })
  await Promise.all(workers)

  const rows = summarize(results, variants)
  const targets = evaluateTargets(rows)
  const machine = {
    cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown',
    node: process.version,
    valgrind: vg.stdout.trim(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  }
  console.log(render(rows, targets, machine))
  const file =
    jsonArg >= 0
      ? args[jsonArg + 1]
      : join(BENCH_DIR, 'results', `icount-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
  mkdirSync(join(file, '..'), { recursive: true })
  writeFileSync(
    file,
    `${JSON.stringify({ startedAt, machine, config, notes, results, rows, targets }, null, 2)}\n`,
  )
  log(`raw numbers: ${file}`)
}

/** One server process under callgrind: warm up, count a window of requests, stop. */
async function countOne(variant, flow) {
  const dir = mkdtempSync(join(os.tmpdir(), `icount-${variant}-${flow}-`))
  const valgrindArgs = [
    '--tool=callgrind',
    `--callgrind-out-file=${join(dir, 'callgrind.%p.out')}`,
    `--log-file=${join(dir, 'valgrind.%p.log')}`,
    // Warm-up runs uninstrumented (several times faster); `instrumentation on` before the window.
    '--instr-atstart=no',
    process.execPath,
  ]
  const nodeFlags = [
    `--min-semi-space-size=${config.semiSpaceMb}`,
    `--max-semi-space-size=${config.semiSpaceMb}`,
    ...STEADY_V8_FLAGS,
    '--expose-gc',
    // Where V8 writes a log if a profiling flag asks for one (not into the working tree).
    `--logfile=${join(dir, 'v8.log')}`,
    ...config.extraNodeFlags,
  ]
  const server = await startServer(variant, {
    execPath: 'valgrind',
    execArgv: [...valgrindArgs, ...nodeFlags],
    // Node's start-up under valgrind takes 10-30 s on an idle machine, minutes on a busy one.
    timeoutMs: 600_000,
    quiet: true,
    env: { BENCH_DATE_HEADER: '0', BENCH_GC_GROWTH_BYTES: String(config.gcGrowthBytes) },
  })
  try {
    const { withCookie, path } = FLOWS[flow]
    const cookie = withCookie ? (await login(server.port, variant, 1))[0] : undefined
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const send = (n) => sequential(server.port, agent, path, cookie, n, variant)
    const t0 = Date.now()
    const retriesBefore = retries
    await send(config.warmup)
    // Every window starts right after a full GC, made in the request before it.
    const before = await server.command('gc-next')
    await send(1)
    const t1 = Date.now()
    await vgdb(server.child.pid, 'instrumentation on')
    await vgdb(server.child.pid, 'zero')
    await send(config.requests)
    await vgdb(server.child.pid, 'dump')
    // The window's own: without the one gc-next asked for before it.
    const fullGcs = (await server.command('cpu')).scheduledGcs - before.scheduledGcs - 1
    const seconds = { warmup: (t1 - t0) / 1000, counted: (Date.now() - t1) / 1000 }
    agent.destroy()
    const dump = readdirSync(dir).find((f) => /^callgrind\.\d+\.out\.1$/.test(f))
    if (!dump) throw new Error(`${variant}: callgrind wrote no dump in ${dir}`)
    const text = readFileSync(join(dir, dump), 'utf8')
    const summary = /^summary: (\d+)$/m.exec(text)
    if (!summary) throw new Error(`${variant}: no summary line in ${join(dir, dump)}`)
    const instructions = Number(summary[1])
    // How much of the window the optimising compiler took (JIT warm-up still going on): said
    // beside the total, so a reader can tell compile work from request work.
    const compilerPerRequest = groupsOf(profileOf(join(dir, dump), undefined, config.requests)).get(
      'optimising compiler',
    )
    return {
      variant,
      flow,
      instructions,
      requests: config.requests,
      perRequest: instructions / config.requests,
      compilerPerRequest,
      fullGcs,
      seconds,
      retries: retries - retriesBefore,
      ...(config.keep ? { dump: join(dir, dump), pid: server.child.pid } : {}),
    }
  } finally {
    await server.stop()
    if (!config.keep) rmSync(dir, { recursive: true, force: true })
  }
}

/** `vgdb --pid=<pid> <command>`: a callgrind monitor command (zero, dump). Bounded wait. */
async function vgdb(pid, command) {
  await run('vgdb', [`--pid=${pid}`, ...command.split(' ')], { timeout: 120_000 })
}

/**
 * `n` GET requests, one after the other on one keep-alive socket, each read to the end. Every
 * answer must be 200: a benchmark of error pages would count the wrong work. A new-session flow
 * sends no cookie; bare Express gets the same-size dummy cookie a session flow sends.
 */
async function sequential(port, agent, path, cookie, n, variant) {
  const headers = cookie ? { cookie } : {}
  const once = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
        res.resume()
        res.once('end', () => resolve(res.statusCode))
        res.once('error', reject)
      })
      req.setTimeout(120_000, () => req.destroy(new Error(`${variant} ${path}: no answer`)))
      req.once('error', reject)
      req.end()
    })
  for (let i = 0; i < n; i++) {
    let status
    try {
      status = await once()
    } catch (err) {
      // A kept-alive socket reset as it was reused (the server under valgrind is slow, the
      // machine may be loaded): one retry on a fresh socket, counted in the results.
      if (err?.code !== 'ECONNRESET' && err?.code !== 'EPIPE') throw err
      retries++
      status = await once()
    }
    if (status !== 200) throw new Error(`${variant} ${path} answered ${status}`)
  }
}

function summarize(results, variants) {
  const rows = []
  for (const flow of config.flows) {
    const of = (v) => results.find((r) => r.flow === flow && r.variant === v)?.perRequest
    for (const variant of variants) {
      const perRequest = of(variant)
      if (perRequest === undefined) continue
      const baseline = expressSessionBaseline(variant)
      const esValue = baseline ? of(baseline) : undefined
      const bare = of('bare')
      rows.push({
        flow,
        variant,
        perRequest,
        compilerPerRequest: results.find((r) => r.flow === flow && r.variant === variant)
          ?.compilerPerRequest,
        ...(bare !== undefined ? { vsBare: bare / perRequest } : {}),
        ...(esValue !== undefined ? { vsExpressSession: esValue / perRequest } : {}),
      })
    }
  }
  return rows
}

/** The express-session row a typed-session row is compared with: the same store kind. */
function expressSessionBaseline(variant) {
  if (!variant.startsWith('typed-session')) return undefined
  // typed-session-native-redis is compared with express-session-redis (connect-redis).
  return variant.replace(/^typed-session/, 'express-session').replace('-native-', '-')
}

function evaluateTargets(rows) {
  const out = []
  for (const t of TARGETS) {
    const row = rows.find((r) => r.flow === t.flow && r.variant === t.variant)
    const value = t.of === 'bare' ? row?.vsBare : row?.vsExpressSession
    if (value === undefined) continue
    out.push({ ...t, value, met: value >= t.min })
  }
  return out
}

function render(rows, targets, machine) {
  const lines = ['']
  lines.push(
    `Instructions per request (callgrind Ir), ${config.warmup} warm-up + ${config.requests} ` +
      `counted sequential keep-alive requests per server process; node ${machine.node}, ` +
      `${machine.valgrind}, young generation fixed at ${config.semiSpaceMb} MB semi-spaces, ` +
      `${STEADY_V8_FLAGS.join(' ')}, no Date header; full GCs from a route handler once the old ` +
      `generation has grown by ${config.gcGrowthBytes / 1024 / 1024} MB (checked every 100 ` +
      'requests), one right before the window.',
  )
  lines.push('')
  lines.push(
    '| flow | server | instructions/request | x bare | x express-session | of which optimising compiler |',
  )
  lines.push('|---|---|---:|---:|---:|---:|')
  for (const r of rows) {
    const ratio = (x) => (x === undefined ? '' : x.toFixed(2))
    lines.push(
      `| ${r.flow} | ${r.variant} | ${fmtK(r.perRequest)} | ${ratio(r.vsBare)} | ` +
        `${ratio(r.vsExpressSession)} | ${fmtK(r.compilerPerRequest ?? 0)} |`,
    )
  }
  if (targets.length > 0) {
    lines.push('')
    lines.push('| target (issue 15, instructions) | wanted | measured | |')
    lines.push('|---|---:|---:|---|')
    for (const t of targets) {
      lines.push(
        `| ${t.flow}, ${t.variant} vs ${t.of} | >= ${t.min} | ${t.value.toFixed(2)} | ` +
          `${t.met ? 'met' : 'MISSED'} |`,
      )
    }
  }
  for (const n of notes) lines.push('', `Note: ${n}`)
  return lines.join('\n')
}

function fmtK(n) {
  return `${Math.round(n / 1000).toLocaleString('en-US')}k`
}
