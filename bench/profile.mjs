// `node bench/profile.mjs <variant> <flow> [seconds]`, or `node bench/profile.mjs <file.cpuprofile>`
// Runs one bench server under `node --cpu-prof`, drives it with autocannon (same settings as the
// bench), stops it so the profile is written, then prints self time summed by function and by
// package, and inclusive time of the session libraries' own functions, in microseconds per request.
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import autocannon from 'autocannon'
import { envNumber, FLOWS, VARIANTS } from './config.mjs'
import { BENCH_DIR, ensureBuilt, login, ROOT, startServer } from './harness.mjs'

const [first, flowArg, secondsArg] = process.argv.slice(2)
const TOP = envNumber('PROFILE_TOP', 40)

if (first?.endsWith('.cpuprofile')) {
  printReport(analyze(JSON.parse(readFileSync(first, 'utf8'))), undefined)
} else {
  if (!VARIANTS.includes(first) || !(flowArg in FLOWS)) {
    console.error(
      `usage: node bench/profile.mjs <${VARIANTS.join('|')}> <${Object.keys(FLOWS).join('|')}> [seconds]`,
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
  try {
    const { path, withCookie } = FLOWS[flowArg]
    const cookies = withCookie ? await login(server.port, first, connections) : []
    let next = 0
    const result = await autocannon({
      url: `http://127.0.0.1:${server.port}${path}`,
      connections,
      duration: seconds,
      setupClient: withCookie
        ? (client) => client.setHeaders({ cookie: cookies[next++ % cookies.length] })
        : undefined,
    })
    requests = result.requests.total
    console.error(
      `${first} ${flowArg}: ${requests} requests, ${(requests / result.duration).toFixed(0)} req/s, ` +
        `${result.non2xx} non-2xx, ${result.errors} errors`,
    )
  } finally {
    await server.stop()
  }
  const file = newestProfile(dir, server.child.pid)
  console.error(`profile: ${file}`)
  printReport(analyze(JSON.parse(readFileSync(file, 'utf8'))), requests)
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
  return path.startsWith('node:') ? path : basename(path)
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
  if (path.startsWith(join(ROOT, 'dist'))) return 'typed-session (dist)'
  if (path.startsWith(BENCH_DIR)) return 'bench'
  return basename(path)
}

function printReport({ self, inclusive, packages, total, idle }, requests) {
  const per = (us) =>
    requests ? `${(us / requests).toFixed(2)} us/req` : `${(us / 1000).toFixed(0)} ms`
  const pct = (us) => `${((100 * us) / total).toFixed(1)}%`
  const rows = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n)
  console.log(
    `busy ${(total / 1000).toFixed(0)} ms (${per(total)}), idle ${(idle / 1000).toFixed(0)} ms\n`,
  )
  console.log('## self time by package\n\n| package | self | % |\n|---|---:|---:|')
  for (const [k, v] of rows(packages, 25)) console.log(`| ${k} | ${per(v)} | ${pct(v)} |`)
  console.log(`\n## self time by function (top ${TOP})\n\n| function | self | % |\n|---|---:|---:|`)
  for (const [k, v] of rows(self, TOP)) console.log(`| ${k} | ${per(v)} | ${pct(v)} |`)
  const ours = new Map(
    [...inclusive].filter(([k]) => /(dist\/index|express-session\/|connect-redis\/)/.test(k)),
  )
  console.log(
    `\n## inclusive time, session library functions (top ${TOP})\n\n| function | inclusive | % |\n|---|---:|---:|`,
  )
  for (const [k, v] of rows(ours, TOP)) console.log(`| ${k} | ${per(v)} | ${pct(v)} |`)
}
