/*
 * Docs are code: every TypeScript block of README.md compiles, unchanged, as the index.ts of a
 * consumer project that installs the `npm pack` tarball and exactly the packages the block's
 * `// npm install` lines name (see readme-blocks.ts for the markers). And the Quick start runs as
 * copied. Needs dist/ (`npm run build`; `npm test` builds first).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BlockCompiler,
  type CompileUnit,
  type Consumer,
  compileUnits,
  formatDiagnostics,
  packConsumer,
  readmeBlocks,
} from './readme-blocks.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const blocks = readmeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'))
const units = compileUnits(blocks)

/** The blocks a new user copies first: each must compile on its own, not as a continuation. */
const WHOLE_BLOCKS = [
  'quick-start',
  'memory-store',
  'redis-store',
  'pg-store',
  'custom-store',
  'flash',
  'passport',
]

// Compiling is CPU work that a busy machine slows down many times over; these only stop a hang.
const COMPILE_BOUND_MS = 120_000
const START_BOUND_MS = 60_000

let consumer: Consumer
let compiler: BlockCompiler
let failed = false

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/index.d.ts')))
    throw new Error('dist/ is missing: run `npm run build` before this test')
  consumer = packConsumer(ROOT)
  compiler = new BlockCompiler(join(ROOT, 'node_modules'))
}, COMPILE_BOUND_MS)

afterAll(() => {
  // Kept after a failure, to reproduce by hand: `npx tsc -p <dir>/<block>`.
  if (consumer !== undefined && !failed) rmSync(consumer.dir, { recursive: true, force: true })
})

describe('README.md', () => {
  it('marks blocks consistently, and the first-hour blocks compile whole', () => {
    const names = blocks.map((b) => b.name)
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([])
    for (const name of WHOLE_BLOCKS) {
      const block = blocks.find((b) => b.name === name)
      expect(block, `README block "${name}"`).toBeDefined()
      expect(block?.continues, `README block "${name}" must compile on its own`).toBeUndefined()
      expect(block?.fragmentReason, `README block "${name}" must compile`).toBeUndefined()
    }
    for (const fragment of blocks.filter((b) => b.fragmentOf !== undefined)) {
      const whole = units.find((u) => u.name === fragment.fragmentOf)
      expect(
        whole,
        `README.md:${fragment.line}: fragment of "${fragment.fragmentOf}"`,
      ).toBeDefined()
      // Indentation may differ; the fragment's lines must appear in order, together.
      const squash = (code: string) => code.replace(/^\s+/gm, '').trim()
      expect(squash(whole?.code ?? ''), `README.md:${fragment.line}`).toContain(
        squash(fragment.code),
      )
    }
  })

  for (const unit of units) {
    it(
      `compiles block ${unit.name} (${unit.heading}, README.md:${unit.line})`,
      () => {
        expect(unit.packages, 'the block names its packages in `// npm install` lines').toContain(
          'typed-session',
        )
        const dir = consumer.project(unit)
        const output = formatDiagnostics(compiler.compile(dir), unit, dir)
        if (output !== '') failed = true
        expect(output, `consumer project kept in ${dir}`).toBe('')
      },
      COMPILE_BOUND_MS,
    )
  }

  it(
    'Quick start: listens with one secret and counts views across requests',
    async () => {
      const unit = unitNamed('quick-start')
      const dir = consumer.project({ ...unit, name: 'quick-start-run' })
      const js = ts.transpileModule(unit.code, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText
      writeFileSync(join(dir, 'index.js'), js)
      const port = await freePort()
      const child = spawn(process.execPath, ['index.js'], {
        cwd: dir,
        env: { ...process.env, PORT: String(port), SESSION_SECRET: 'x'.repeat(32) },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      try {
        await waitForOutput(child, /listening/i, START_BOUND_MS)
        const first = await fetch(`http://127.0.0.1:${port}/`)
        expect(await first.text()).toBe('Views: 1')
        const cookie = first.headers.get('set-cookie')?.split(';')[0]
        expect(cookie).toMatch(/^sid=s%3A/)
        const second = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie: cookie! } })
        expect(await second.text()).toBe('Views: 2')
      } finally {
        child.kill()
      }
    },
    START_BOUND_MS + 10_000,
  )
})

function unitNamed(name: string): CompileUnit {
  const unit = units.find((u) => u.name === name)
  if (unit === undefined) throw new Error(`README has no block "${name}"`)
  return unit
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Resolve once the child prints `pattern`; reject if it exits first or after `boundMs`. */
function waitForOutput(child: ChildProcess, pattern: RegExp, boundMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(
      () => reject(new Error(`no ${pattern} within ${boundMs} ms:\n${output}`)),
      boundMs,
    )
    const onData = (chunk: Buffer) => {
      output += chunk
      if (pattern.test(output)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited (${code}) before ${pattern}:\n${output}`))
    })
  })
}
