// Keeps `npm run bench:icount` from rotting: the short mode starts typed-session's bench server
// under callgrind, counts a small window of `read` requests and writes its JSON. No number is
// asserted beyond "something was counted": the short window is too small to compare.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const dir = mkdtempSync(join(tmpdir(), 'icount-smoke-'))

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('npm run bench:icount -- --short', () => {
  it('counts instructions per request of the typed-session server', () => {
    // scripts/ensure-services.mjs installs it; never skip silently when it is missing.
    const valgrind = spawnSync('valgrind', ['--version'])
    expect(valgrind.status, 'valgrind is missing: apt-get install -y valgrind').toBe(0)
    const file = join(dir, 'icount.json')
    const run = spawnSync(process.execPath, ['bench/icount.mjs', '--short', '--json', file], {
      encoding: 'utf8',
      // A server under valgrind: start-up alone can take a minute on a busy machine.
      timeout: 600_000,
    })
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toContain('| read | typed-session |')
    const report = JSON.parse(readFileSync(file, 'utf8'))
    const rows = report.rows as { variant: string; flow: string; perRequest: number }[]
    expect(rows.map((r) => r.variant)).toEqual(['typed-session'])
    for (const row of rows) {
      expect(row.flow).toBe('read')
      expect(row.perRequest).toBeGreaterThan(0)
    }
  }, 660_000)
})
