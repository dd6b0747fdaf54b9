/*
 * A project that has @types/express-session in its graph (connect-redis and connect-pg-simple
 * import it) still compiles with typed-session, with skipLibCheck on and off (core issue; DESIGN.md
 * section 3). Runs the real compiler on test/types/fixture against the BUILT package: run
 * `npm run build` first (`npm test` does).
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./fixture/', import.meta.url))
const builtTypes = fileURLToPath(new URL('../../dist/index.d.ts', import.meta.url))
const tsc = join(
  dirname(createRequire(import.meta.url).resolve('typescript/package.json')),
  'bin/tsc',
)

// A full library check of express, zod, redis and @types/node takes ~12 s of CPU on this machine
// kind; the bound only stops a hung compiler from hanging the suite.
const COMPILE_TIMEOUT_MS = 110_000

interface Compilation {
  /** tsc's exit code (0: no errors). */
  readonly code: number
  /** Diagnostics, one per line, `file(line,col): error TSnnnn: message`. */
  readonly output: string
}

interface Diagnostic {
  readonly file: string
  readonly line: number
  readonly code: number
}

function compile(config: string): Promise<Compilation> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tsc, '-p', join(fixture, config), '--pretty', 'false'],
      { cwd: fixture, timeout: COMPILE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
        resolve({ code, output: `${stdout}${stderr}` })
      },
    )
  })
}

function diagnostics(output: string): Diagnostic[] {
  return [...output.matchAll(/^(.+?)\((\d+),\d+\): error TS(\d+):/gm)].map((match) => ({
    file: match[1] ?? '',
    line: Number(match[2]),
    code: Number(match[3]),
  }))
}

/** The errors fail.ts announces: a `// TSnnnn` comment at the end of the line that must fail. */
function expectedFailures(file: string): Diagnostic[] {
  return readFileSync(join(fixture, file), 'utf8')
    .split('\n')
    .flatMap((text, index) => {
      const match = /\/\/ TS(\d+)\b/.exec(text)
      return match ? [{ file, line: index + 1, code: Number(match[1]) }] : []
    })
}

describe('typed-session beside @types/express-session', () => {
  let runs: Record<'skiplib' | 'strict' | 'fail', Promise<Compilation>>

  beforeAll(() => {
    if (!existsSync(builtTypes)) {
      throw new Error(`${builtTypes} is missing: run \`npm run build\` before this test`)
    }
    // The three programs are independent: compile them side by side.
    runs = {
      skiplib: compile('tsconfig.skiplib.json'),
      strict: compile('tsconfig.strict.json'),
      fail: compile('tsconfig.fail.json'),
    }
  })

  it(
    'compiles a registered app using connect-redis with skipLibCheck on',
    async () => {
      const { code, output } = await runs.skiplib
      expect(output).toBe('')
      expect(code).toBe(0)
    },
    COMPILE_TIMEOUT_MS,
  )

  it(
    'compiles the same app with skipLibCheck off (no TS2717 / TS2430 in any .d.ts)',
    async () => {
      const { code, output } = await runs.strict
      expect(output).toBe('')
      expect(code).toBe(0)
    },
    COMPILE_TIMEOUT_MS,
  )

  it(
    'fails on a wrong-typed session write and a schema without defaults, and only there',
    async () => {
      const { code, output } = await runs.fail
      const expected = expectedFailures('fail.ts')
      expect(expected.map((failure) => failure.code)).toEqual([2322, 2322])
      expect(code).not.toBe(0)
      expect(diagnostics(output)).toEqual(expected)
      // The compiler prints the schema problem in words at the `schema:` line, naming the key and
      // the fix, once.
      const message =
        "key 'name': required, but a new session starts from {}, give it a .default() or make it .optional()"
      expect(output.split(message)).toHaveLength(2)
    },
    COMPILE_TIMEOUT_MS,
  )
})
