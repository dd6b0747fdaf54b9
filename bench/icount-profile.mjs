// Where the instructions of a callgrind dump go: self instructions per function, with V8's JIT
// code named from the `--perf-basic-prof` map that node writes to /tmp/perf-<pid>.map.
//
//   ICOUNT_KEEP=1 ICOUNT_NODE_FLAGS='--perf-basic-prof --interpreted-frames-native-stack' \
//     ICOUNT_VARIANTS=typed-session ICOUNT_FLOWS=read npm run bench:icount -- --json /tmp/ts.json
//   node bench/icount-profile.mjs /tmp/ts.json [top]          (every kept dump of that run)
//   node bench/icount-profile.mjs <callgrind.PID.out.1> [top] [requests]
//   node bench/icount-profile.mjs --diff a.json b.json [top]   (per-function change, per request)
//
// callgrind cannot name JIT code (it sees anonymous executable memory): it names each such piece
// by its address. Those addresses fall inside the ranges the perf map lists, so the map gives
// them their JS names ("JS:*handle /app/x.js:12" for optimised code, "~" for interpreted, etc.).
// Builtins and C++ come with their symbols from the node binary. Per request = total / requests.
import { existsSync, readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const args = process.argv.slice(2)

/** Every kept dump of an icount JSON: `flow variant` -> profile per request. */
function loadRun(file) {
  const run = JSON.parse(readFileSync(file, 'utf8'))
  const out = {}
  for (const r of run.results) {
    if (!r.dump) continue
    out[`${r.flow} ${r.variant}`] = profileOf(r.dump, r.pid, r.requests)
  }
  return out
}

/** Self instructions per function name, divided by `requests`. */
export function profileOf(dumpFile, pid, requests) {
  const map = pid ? perfMap(`/tmp/perf-${pid}.map`) : []
  const self = parseSelfCosts(readFileSync(dumpFile, 'utf8'))
  const byName = new Map()
  let total = 0
  for (const [name, cost] of self) {
    total += cost
    const label = name.startsWith('0x') ? jitName(map, Number.parseInt(name, 16)) : name
    byName.set(label, (byName.get(label) ?? 0) + cost)
  }
  const rows = [...byName].map(([name, cost]) => ({ name, perRequest: cost / requests }))
  rows.sort((x, y) => y.perRequest - x.perRequest)
  return { total: total / requests, rows }
}

/**
 * Self cost per function of a callgrind file: cost lines count for the current `fn=`, except the
 * line right after `calls=` (that one is the inclusive cost of a call). Name compression: `(id)
 * name` defines, `(id)` refers back.
 */
function parseSelfCosts(text) {
  const names = new Map()
  const objects = new Map()
  const self = new Map()
  let fn = '?'
  let ob = ''
  let skipNext = false
  const resolve = (table, value) => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(value)
    if (!m) return value
    if (m[2] !== undefined) table.set(m[1], m[2])
    return table.get(m[1]) ?? value
  }
  for (const line of text.split('\n')) {
    if (line === '') continue
    const c = line.charCodeAt(0)
    const isCost = (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42 // digit + - *
    if (isCost) {
      if (skipNext) {
        skipNext = false
        continue
      }
      const parts = line.split(' ')
      const cost = Number(parts[parts.length - 1])
      if (!Number.isFinite(cost)) continue
      const key = ob && !fn.startsWith('0x') ? `${fn} [${ob}]` : fn
      self.set(key, (self.get(key) ?? 0) + cost)
      continue
    }
    if (line.startsWith('fn=')) fn = resolve(names, line.slice(3))
    else if (line.startsWith('ob=')) ob = shortObject(resolve(objects, line.slice(3)))
    else if (line.startsWith('cfn=')) resolve(names, line.slice(4))
    else if (line.startsWith('cob=')) resolve(objects, line.slice(4))
    else if (line.startsWith('calls=')) skipNext = true
  }
  return self
}

function shortObject(path) {
  return path.split('/').pop()
}

/** /tmp/perf-<pid>.map: "start size name" lines (hex), sorted for binary search. */
function perfMap(file) {
  if (!existsSync(file)) return []
  const entries = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line)
    if (m)
      entries.push({
        start: Number.parseInt(m[1], 16),
        size: Number.parseInt(m[2], 16),
        name: m[3],
      })
  }
  entries.sort((a, b) => a.start - b.start)
  return entries
}

/** The perf-map name whose range holds `addr` (the latest entry wins: code space is reused). */
function jitName(map, addr) {
  let lo = 0
  let hi = map.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (map[mid].start <= addr) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  for (let i = found; i >= 0 && i > found - 64; i--) {
    const e = map[i]
    if (addr >= e.start && addr < e.start + e.size) return `JIT ${e.name}`
  }
  return 'JIT (unnamed: run with --perf-basic-prof)'
}

/** Coarse groups of self cost: where a request's instructions go, by kind of work. */
const GROUPS = [
  [
    'GC',
    /Scaveng|MarkCompact|Marking|Sweep|Evacuat|Heap::|heap::|BodyDescriptor|RecordMigrated|MemoryAllocator|Worklist|Pretenuring|RememberedSet|SlotSet/,
  ],
  ['optimising compiler', /compiler::|maglev|Maglev|turboshaft|Turboshaft/],
  [
    'IC misses, maps, property lookup (runtime)',
    /LookupIterator|IC::|Runtime_|Map::|MapUpdater|DescriptorArray|JSObject::|TransitionsAccessor|FeedbackNexus|FeedbackVector|StubCache|FieldIndex|PrototypeIterator|JSReceiver::|Object::/,
  ],
  ['JSON (runtime)', /Json/],
  ['JIT-compiled JS', /^JIT JS:\*/],
  ['interpreted / baseline JS', /^JIT JS:[~^]|^JIT/],
  ['V8 builtins', /^Builtins_/],
  ['libc, libuv, node, openssl', /libc|uv_|uv__|node::|\[node\]|ssl|crypto|\[libcrypto/],
]

export function groupsOf(profile) {
  const sums = new Map(GROUPS.map(([name]) => [name, 0]))
  sums.set('other', 0)
  for (const r of profile.rows) {
    const group = GROUPS.find(([, re]) => re.test(r.name))?.[0] ?? 'other'
    sums.set(group, sums.get(group) + r.perRequest)
  }
  return sums
}

function printProfile(title, profile, top) {
  console.log(`\n## ${title}: ${fmt(profile.total)} instructions/request`)
  console.log('')
  console.log('| group | instructions/request | % |')
  console.log('|---|---:|---:|')
  for (const [name, value] of groupsOf(profile)) {
    console.log(`| ${name} | ${fmt(value)} | ${((100 * value) / profile.total).toFixed(1)} |`)
  }
  console.log('')
  console.log('Self cost by function:')
  console.log('')
  console.log('| self/request | % | function |')
  console.log('|---:|---:|---|')
  for (const r of profile.rows.slice(0, top)) {
    const pct = ((100 * r.perRequest) / profile.total).toFixed(1)
    console.log(`| ${fmt(r.perRequest)} | ${pct} | ${cell(r.name)} |`)
  }
}

function printDiff(title, a, b, top) {
  console.log(`\n## ${title}: ${fmt(a.total)} -> ${fmt(b.total)} (${fmt(b.total - a.total)})`)
  console.log('')
  console.log('| group | before | after | change |')
  console.log('|---|---:|---:|---:|')
  const ga = groupsOf(a)
  const gb = groupsOf(b)
  for (const [name, value] of gb) {
    const before = ga.get(name) ?? 0
    console.log(`| ${name} | ${fmt(before)} | ${fmt(value)} | ${fmt(value - before)} |`)
  }
  console.log('')
  console.log('| before | after | change | function |')
  console.log('|---:|---:|---:|---|')
  const names = new Set([...a.rows, ...b.rows].map((r) => r.name))
  const get = (p, n) => p.rows.find((r) => r.name === n)?.perRequest ?? 0
  const diffs = [...names].map((n) => ({ n, a: get(a, n), b: get(b, n) }))
  diffs.sort((x, y) => Math.abs(y.b - y.a) - Math.abs(x.b - x.a))
  for (const d of diffs.slice(0, top)) {
    console.log(`| ${fmt(d.a)} | ${fmt(d.b)} | ${fmt(d.b - d.a)} | ${cell(d.n)} |`)
  }
}

function fmt(n) {
  return Math.round(n).toLocaleString('en-US')
}

function cell(name) {
  return name.replaceAll('|', '\\|').slice(0, 140)
}

function main() {
  if (args[0] === '--diff') {
    const [a, b] = [loadRun(args[1]), loadRun(args[2])]
    const top = Number(args[3] ?? 40)
    for (const key of Object.keys(b)) {
      if (!a[key]) continue
      printDiff(key, a[key], b[key], top)
    }
  } else {
    const top = Number(args[1] ?? 40)
    if (args[0]?.endsWith('.json')) {
      const runs = loadRun(args[0])
      for (const [key, profile] of Object.entries(runs)) printProfile(key, profile, top)
    } else {
      const requests = Number(args[2] ?? 1)
      const pid = /callgrind\.(\d+)\.out/.exec(args[0])?.[1]
      printProfile(args[0], profileOf(args[0], pid, requests), top)
    }
  }
}

// Run only as a script: bench/icount.mjs imports profileOf / groupsOf.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main()
