// `node bench/profile.mjs <variant> <flow> [seconds]`
// Runs one bench server under `node --cpu-prof`, drives it with autocannon (same settings as the
// bench), stops it so the profile is written, then prints self time summed by function and by
// package, and inclusive time of the session libraries' own functions, in microseconds per request.
// The profiler samples wall time; the numbers are scaled to the server's measured CPU time
// (process.cpuUsage), so time spent descheduled on a busy machine does not count.
// Writes <profile>.summary.json next to the profile.
// `node bench/profile.mjs --diff <a.summary.json> <b.summary.json>`: what b costs more than a.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import autocannon from 'autocannon'
import { envNumber, FLOWS, VARIANTS } from './config.mjs'
import { BENCH_DIR, ensureBuilt, login, ROOT, startServer } from './harness.mjs'

const [first, flowArg, secondsArg] = process.argv.slice(2)
const TOP = envNumber('PROFILE_TOP', 40)

if (first === '--diff') {
  printDiff(readSummary(flowArg), readSummary(secondsArg))
} else if (first === '--file') {
  // An existing profile; `requests` (optional) turns totals into per-request numbers.
  const requests = Number(secondsArg ?? 1)
  const summary = summarize(analyze(JSON.parse(readFileSync(flowArg, 'utf8'))), requests, 0)
  Object.assign(summary, {
    variant: basename(flowArg),
    flow: '',
    cpuUsPerReq: summary.busyUsPerReq,
  })
  writeFileSync(`${flowArg}.summary.json`, `${JSON.stringify(summary, null, 1)}\n`)
  printReport(summary)
} else {
  if (!VARIANTS.includes(first) || !(flowArg in FLOWS)) {
    console.error(
      `usage: node bench/profile.mjs <${VARIANTS.join('|')}> <${Object.keys(FLOWS).join('|')}> [seconds]\n` +
        '       node bench/profile.mjs --diff <a.summary.json> <b.summary.json>\n' +
        '       node bench/profile.mjs --file <x.cpuprofile> [requests]',
    )
    process.exit(2)
  }
  ensureBuilt({ log: console.error })
  const seconds = Number(secondsArg ?? 10)
  const connections = envNumber('BENCH_CONNECTIONS', 50)
  const dir = join(BENCH_DIR, 'results', 'profiles')
  mkdirSync(dir, { recursive: true })
  const server = await startServer(first, {
    execArgv: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200'],
  })
  let requests = 0
  let cpuUs = 0
  try {
    const { path, withCookie } = FLOWS[flowArg]
    const cookies = withCookie ? await login(server.port, first, connections) : []
    let next = 0
    const before = await server.command('cpu')
    const result = await autocannon({
      url: `http://127.0.0.1:${server.port}${path}`,
      connections,
      duration: seconds,
      setupClient: withCookie
        ? (client) => client.setHeaders({ cookie: cookies[next++ % cookies.length] })
        : undefined,
    })
    const after = await server.command('cpu')
    cpuUs = after.cpu.user - before.cpu.user + (after.cpu.system - before.cpu.system)
    requests = result.requests.total
    console.error(
      `${first} ${flowArg}: ${requests} requests, ${(requests / result.duration).toFixed(0)} req/s, ` +
        `server CPU ${(cpuUs / requests).toFixed(1)} us/req, ${result.non2xx} non-2xx, ${result.errors} errors`,
    )
  } finally {
    await server.stop()
  }
  const file = newestProfile(dir, server.child.pid)
  console.error(`profile: ${file}`)
  const summary = summarize(analyze(JSON.parse(readFileSync(file, 'utf8'))), requests, cpuUs)
  summary.variant = first
  summary.flow = flowArg
  writeFileSync(`${file}.summary.json`, `${JSON.stringify(summary, null, 1)}\n`)
  console.error(`summary: ${file}.summary.json`)
  printReport(summary)
}

function newestProfile(dir, pid) {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`))
    .map((f) => join(dir, f))
  if (files.length === 0) throw new Error(`no .cpuprofile for pid ${pid} in ${dir}`)
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
}

/** Self and inclusive time (us) per function, and self time per package. */
function analyze(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map()
  const inclusive = new Map()
  const packages = new Map()
  let total = 0
  let idle = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0
    const node = byId.get(profile.samples[i])
    const key = frameKey(node.callFrame)
    if (node.callFrame.functionName === '(idle)') {
      idle += dt
      continue
    }
    total += dt
    self.set(key, (self.get(key) ?? 0) + dt)
    const pkg = packageOf(node.callFrame)
    packages.set(pkg, (packages.get(pkg) ?? 0) + dt)
    const seen = new Set()
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const k = frameKey(byId.get(id).callFrame)
      if (seen.has(k)) continue
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt)
    }
  }
  return { self, inclusive, packages, total, idle }
}

function frameKey({ functionName, url, lineNumber }) {
  const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : ''
  return `${functionName || '(anonymous)'} ${where}`.trim()
}

function shortUrl(url) {
  const path = url.replace(/^file:\/\//, '')
  if (path.startsWith(ROOT)) return path.slice(ROOT.length + 1).replace(/^node_modules\//, '')
  if (path.startsWith('node:')) return path
  // Another build (TYPED_SESSION_ENTRY) keeps its `dist/` prefix, so it groups as ours.
  const dist = path.lastIndexOf('/dist/')
  return dist >= 0 && !path.includes('node_modules/') ? path.slice(dist + 1) : basename(path)
}

function packageOf({ url, functionName }) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`
  const path = url.replace(/^file:\/\//, '')
  const nm = path.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const parts = path.slice(nm + 13).split('/')
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
  }
  if (path.startsWith(join(ROOT, 'dist')) || path.includes('/dist/index.'))
    return 'typed-session (dist)'
  if (path.startsWith(BENCH_DIR)) return 'bench'
  return basename(path)
}

/**
 * Per-request microseconds, scaled so the busy samples add up to the measured CPU time (the load
 * phase's cpuUsage; startup is a small part of a profile of several seconds).
 */
function summarize({ self, inclusive, packages, total }, requests, cpuUs) {
  const scale = cpuUs > 0 && total > 0 ? Math.min(1, cpuUs / total) : 1
  const perReq = (map) =>
    Object.fromEntries(
      [...map].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, (v * scale) / requests]),
    )
  return {
    requests,
    cpuUsPerReq: cpuUs / requests,
    busyUsPerReq: (total * scale) / requests,
    wallScale: scale,
    packages: perReq(packages),
    self: perReq(self),
    inclusive: perReq(
      new Map(
        [...inclusive].filter(([k]) => /(dist\/index|express-session\/|connect-redis\/)/.test(k)),
      ),
    ),
  }
}

function readSummary(file) {
  if (!file) throw new Error('--diff needs two .summary.json files')
  return JSON.parse(readFileSync(file, 'utf8'))
}

function printReport(summary) {
  const { packages, self, inclusive, busyUsPerReq, cpuUsPerReq, wallScale } = summary
  const pct = (us) => `${((100 * us) / busyUsPerReq).toFixed(1)}%`
  const rows = (obj, n) => Object.entries(obj).slice(0, n)
  console.log(
    `${summary.variant} ${summary.flow}: ${cpuUsPerReq.toFixed(1)} us CPU per request ` +
      `(profile samples scaled by ${wallScale.toFixed(2)} to CPU time)\n`,
  )
  console.log('## self time by package\n\n| package | us/req | % |\n|---|---:|---:|')
  for (const [k, v] of rows(packages, 25)) console.log(`| ${k} | ${v.toFixed(2)} | ${pct(v)} |`)
  console.log(
    `\n## self time by function (top ${TOP})\n\n| function | us/req | % |\n|---|---:|---:|`,
  )
  for (const [k, v] of rows(self, TOP)) console.log(`| ${k} | ${v.toFixed(2)} | ${pct(v)} |`)
  console.log(
    `\n## inclusive time, session library functions (top ${TOP})\n\n| function | us/req | % |\n|---|---:|---:|`,
  )
  for (const [k, v] of rows(inclusive, TOP)) console.log(`| ${k} | ${v.toFixed(2)} | ${pct(v)} |`)
}

/** Side by side: where b spends more (or less) than a, by package and by function. */
function printDiff(a, b) {
  const name = (s) => `${s.variant} ${s.flow}`
  console.log(
    `${name(b)} vs ${name(a)}: ${b.cpuUsPerReq.toFixed(1)} vs ${a.cpuUsPerReq.toFixed(1)} us CPU/req ` +
      `(+${(b.cpuUsPerReq - a.cpuUsPerReq).toFixed(1)})\n`,
  )
  for (const section of ['packages', 'self']) {
    const keys = new Set([...Object.keys(a[section]), ...Object.keys(b[section])])
    const rows = [...keys]
      .map((k) => [k, a[section][k] ?? 0, b[section][k] ?? 0])
      .sort((x, y) => Math.abs(y[2] - y[1]) - Math.abs(x[2] - x[1]))
      .slice(0, section === 'packages' ? 20 : TOP)
    console.log(
      `## ${section}\n\n| ${section === 'self' ? 'function' : 'package'} | ${name(a)} | ${name(b)} | delta |\n|---|---:|---:|---:|`,
    )
    for (const [k, x, y] of rows)
      console.log(
        `| ${k} | ${x.toFixed(2)} | ${y.toFixed(2)} | ${(y - x >= 0 ? '+' : '') + (y - x).toFixed(2)} |`,
      )
    console.log('')
  }
}
