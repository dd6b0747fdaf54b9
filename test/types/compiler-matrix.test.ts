/*
 * The compiler matrix: a consumer app (test/types/matrix) compiled against the BUILT package by
 * the oldest supported TypeScript (5.4), the project's pinned one and the newest 7.x, as ESM
 * (dist/index.d.ts) and as CommonJS (dist/index.d.cts), with skipLibCheck on and off; and a file
 * that must fail, whose messages must name the key and the fix, once, on every compiler.
 * Run `npm run build` first (`npm test` does).
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./matrix/', import.meta.url))
const builtTypes = fileURLToPath(new URL('../../dist/index.d.cts', import.meta.url))
const require = createRequire(import.meta.url)

/** Each compiler by its package (npm aliases in devDependencies, so no global install). */
const COMPILERS = {
  'TypeScript 5.4 (oldest supported)': 'typescript-5.4',
  'TypeScript 5.9 (pinned)': 'typescript',
  'TypeScript 7 (newest)': 'typescript-7',
} as const
type Compiler = keyof typeof COMPILERS

const PROGRAMS = ['esm-skiplib', 'esm-strict', 'cjs-skiplib', 'cjs-strict'] as const
type Program = (typeof PROGRAMS)[number]

/**
 * The programs each compiler compiles. The pinned compiler's ESM programs are
 * express-session-compat.test.ts's (a larger app, with connect-redis in the program): compiling
 * them twice would only cost time.
 */
const PROGRAMS_OF: Record<Compiler, readonly Program[]> = {
  'TypeScript 5.4 (oldest supported)': PROGRAMS,
  'TypeScript 5.9 (pinned)': ['cjs-skiplib', 'cjs-strict'],
  'TypeScript 7 (newest)': PROGRAMS,
}

// A full library check of express, zod and @types/node takes ~9 s of CPU on TypeScript 5 here;
// the bound only stops a hung compiler from hanging the suite (the machine may be loaded).
const COMPILE_TIMEOUT_MS = 150_000

interface Compilation {
  readonly code: number
  readonly output: string
}

interface Diagnostic {
  readonly line: number
  /** The whole message, continuation lines included. */
  readonly text: string
}

function tscOf(compiler: Compiler): string {
  return join(dirname(require.resolve(`${COMPILERS[compiler]}/package.json`)), 'bin/tsc')
}

function compile(compiler: Compiler, config: string): Promise<Compilation> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tscOf(compiler), '-p', join(fixture, `tsconfig.${config}.json`), '--pretty', 'false'],
      { cwd: fixture, timeout: COMPILE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
        resolve({ code, output: `${stdout}${stderr}` })
      },
    )
  })
}

/** `file(line,col): error TSnnnn: message` plus its indented continuation lines. */
function diagnostics(output: string): Diagnostic[] {
  const found: Diagnostic[] = []
  for (const text of output.split(/\n(?=\S)/)) {
    const match = /^[^(]+\((\d+),\d+\): error TS\d+: /.exec(text)
    if (match) found.push({ line: Number(match[1]), text })
  }
  return found
}

/** The lines `file` marks `// error: <text>`, with the text each diagnostic must contain. */
function expectedFailures(file: string): Array<{ line: number; text: string }> {
  return readFileSync(join(fixture, file), 'utf8')
    .split('\n')
    .flatMap((source, index) => {
      const match = /\/\/ error: (.+)$/.exec(source)
      return match?.[1] ? [{ line: index + 1, text: match[1] }] : []
    })
}

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1
}

describe.each(Object.keys(COMPILERS) as Compiler[])('%s', (compiler) => {
  const runs = new Map<Program | 'fail' | 'plugin' | 'plugin-fail', Promise<Compilation>>()

  beforeAll(() => {
    if (!existsSync(builtTypes)) throw new Error(`${builtTypes} is missing: run \`npm run build\``)
    for (const program of [...PROGRAMS_OF[compiler], 'fail', 'plugin', 'plugin-fail'] as const) {
      runs.set(program, compile(compiler, program))
    }
  })

  it.each(PROGRAMS_OF[compiler])(
    'compiles the consumer app (%s), every @ts-expect-error used',
    async (program) => {
      const { code, output } = (await runs.get(program))!
      expect(output).toBe('')
      expect(code).toBe(0)
    },
    COMPILE_TIMEOUT_MS,
  )

  it.each([
    ['fail', 'fail.ts', 7],
    // A plugin's key declared by merging (plugin.ts): missing fragment, collision, wrong type.
    ['plugin-fail', 'plugin-fail.ts', 3],
  ] as const)(
    'refuses the marked lines of %s with messages that name the key and the fix, once, and nothing else',
    async (program, file, atLeast) => {
      const { code, output } = (await runs.get(program))!
      expect(code).not.toBe(0)
      const expected = expectedFailures(file)
      expect(expected.length).toBeGreaterThanOrEqual(atLeast)
      const found = diagnostics(output)
      expect(found.map((diagnostic) => diagnostic.line)).toEqual(expected.map((e) => e.line))
      for (const [index, { text }] of expected.entries()) {
        expect(occurrences(found[index]?.text ?? '', text), found[index]?.text).toBe(1)
      }
    },
    COMPILE_TIMEOUT_MS,
  )

  it(
    'compiles an app whose session has a plugin key (SessionExtensions), every @ts-expect-error used',
    async () => {
      const { code, output } = (await runs.get('plugin'))!
      expect(output).toBe('')
      expect(code).toBe(0)
    },
    COMPILE_TIMEOUT_MS,
  )
})
