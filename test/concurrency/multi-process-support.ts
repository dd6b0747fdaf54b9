// The three cross-process scenarios of issue 10, on a group of session-app.mjs processes sharing
// one cookie: concurrent distinct-key writes, a logout raced by a slow request in another
// process, a flash read by two processes at once. Each returns what a user would notice (writes
// lost, logouts undone, flashes shown other than once) so stores can be compared side by side.
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import {
  cookiePair,
  requestWithCookie,
  type ServerProcesses,
  startServerProcesses,
} from '../helpers/multi-process.js'

/** The app every process runs. */
export const SESSION_APP = fileURLToPath(new URL('../helpers/session-app.mjs', import.meta.url))
export const WRITERS = 50
export const WRITE_RUNS = 5
export const LOGOUT_TRIALS = 20
export const FLASH_TRIALS = 5

/** Start `count` session-app processes over the store `env` describes. */
export function startSessionApps(
  count: number,
  env: Record<string, string>,
): Promise<ServerProcesses> {
  return startServerProcesses({
    count,
    script: SESSION_APP,
    env: { WRITERS: String(WRITERS), ...env },
  })
}

function barrierName(kind: string): string {
  return `${kind}-${randomBytes(6).toString('hex')}`
}

async function login(group: ServerProcesses): Promise<string> {
  const response = await requestWithCookie(group.urls[0]!, '/login?user=alice')
  expect(response.status, response.body).toBe(200)
  const cookie = cookiePair(response)
  expect(cookie).toBeDefined()
  return cookie!
}

async function readSession(url: string, cookie: string): Promise<Record<string, unknown>> {
  const response = await requestWithCookie(url, '/read', cookie)
  expect(response.status, response.body).toBe(200)
  return JSON.parse(response.body) as Record<string, unknown>
}

/**
 * One run: log in, send `WRITERS` requests round-robin over the processes, each setting its own
 * key after all of them have loaded the session; returns how many keys are missing afterwards.
 */
export async function lostWrites(group: ServerProcesses): Promise<number> {
  const cookie = await login(group)
  const name = barrierName('writes')
  const keys = Array.from({ length: WRITERS }, (_, i) => `k${i}`)
  const responses = Promise.all(
    keys.map((key, i) =>
      requestWithCookie(
        group.urls[i % group.urls.length]!,
        `/set?k=${key}&barrier=${name}`,
        cookie,
      ),
    ),
  )
  await group.arrived(name, WRITERS)
  group.release(name)
  for (const response of await responses) expect(response.status, response.body).toBe(200)
  const stored = await readSession(group.urls[0]!, cookie)
  expect(stored.user).toBe('alice')
  return keys.filter((key) => stored[key] !== 1).length
}

/**
 * One trial: a slow request in another process loads the session, the user logs out, then the
 * slow request writes. Returns true when the logged-out session came back.
 */
export async function logoutUndone(group: ServerProcesses, trial: number): Promise<boolean> {
  const cookie = await login(group)
  const n = group.urls.length
  const name = barrierName('slow')
  const slow = requestWithCookie(
    group.urls[1 + (trial % (n - 1))]!,
    `/slow?barrier=${name}`,
    cookie,
  )
  await group.arrived(name, 1)
  const logout = await requestWithCookie(group.urls[0]!, '/logout', cookie)
  expect(logout.status, logout.body).toBe(200)
  group.release(name)
  const late = await slow
  expect(late.status, late.body).toBe(200)
  expect(JSON.parse(late.body)).toEqual({ user: 'alice' })
  // Any process: after the logout, the old cookie must open nothing.
  const after = await readSession(group.urls[trial % n]!, cookie)
  return after.user === 'alice'
}

/**
 * One trial: queue a flash in process 0, read it from two other processes that both loaded the
 * session while it was pending, then once more. Returns how many times it was shown.
 */
export async function timesFlashShown(group: ServerProcesses, trial: number): Promise<number> {
  const cookie = await login(group)
  const n = group.urls.length
  const message = `hello-${trial}`
  const queued = await requestWithCookie(group.urls[0]!, `/flash-set?m=${message}`, cookie)
  expect(queued.status, queued.body).toBe(200)
  const name = barrierName('flash')
  const readers = [group.urls[1 % n]!, group.urls[2 % n]!].map((url) =>
    requestWithCookie(url, `/flash-read?barrier=${name}`, cookie),
  )
  await group.arrived(name, 2)
  group.release(name)
  const shown: unknown[] = []
  for (const response of await Promise.all(readers)) {
    expect(response.status, response.body).toBe(200)
    shown.push(...(JSON.parse(response.body) as unknown[]))
  }
  const again = barrierName('flash-again')
  group.release(again)
  const last = await requestWithCookie(group.urls[3 % n]!, `/flash-read?barrier=${again}`, cookie)
  expect(last.status, last.body).toBe(200)
  shown.push(...(JSON.parse(last.body) as unknown[]))
  for (const value of shown) expect(value).toBe(message)
  return shown.length
}

/** Counts of one setup, for the printed comparison. */
export interface SetupCounts {
  writesLost?: number[]
  logoutsUndone?: number
  flashNotOnce?: number
  /** How many times the flash was shown, per trial. */
  flashShown?: number[]
}

/** Print the counts of every setup, one line each (issue 10's table, as measured). */
export function printCounts(title: string, counts: Record<string, SetupCounts>): void {
  const lines = Object.entries(counts).map(
    ([setup, c]) =>
      `  ${setup}: writes lost of ${WRITERS} per run ${JSON.stringify(c.writesLost ?? [])}, ` +
      `logouts undone of ${LOGOUT_TRIALS}: ${c.logoutsUndone ?? '-'}, ` +
      `flash not shown exactly once of ${FLASH_TRIALS}: ${c.flashNotOnce ?? '-'}` +
      ` (times shown per trial ${JSON.stringify(c.flashShown ?? [])})`,
  )
  console.info(`[issue-10 counts] ${title}\n${lines.join('\n')}`)
}

/**
 * The three scenarios as tests, on the group `group()` returns once its `beforeAll` has run.
 * `asserted`: the guarantees are asserted (native stores); otherwise only measured into `c`.
 */
export function crossProcessScenarios(
  group: () => ServerProcesses,
  c: SetupCounts,
  asserted: boolean,
): void {
  it(`${asserted ? 'loses none' : 'measures losses'} of 50 concurrent distinct-key writes, ${WRITE_RUNS} runs`, async () => {
    c.writesLost = []
    for (let run = 0; run < WRITE_RUNS; run++) c.writesLost.push(await lostWrites(group()))
    if (asserted) expect(c.writesLost).toEqual(Array(WRITE_RUNS).fill(0))
  }, 120_000)

  it(`${asserted ? 'undoes no' : 'measures undone'} logouts by a slow request in another process (${LOGOUT_TRIALS})`, async () => {
    let undone = 0
    for (let trial = 0; trial < LOGOUT_TRIALS; trial++) {
      if (await logoutUndone(group(), trial)) undone++
    }
    c.logoutsUndone = undone
    if (asserted) expect(undone).toBe(0)
  }, 120_000)

  it(`${asserted ? 'shows' : 'measures whether it shows'} a flash exactly once across processes (${FLASH_TRIALS})`, async () => {
    let notOnce = 0
    c.flashShown = []
    for (let trial = 0; trial < FLASH_TRIALS; trial++) {
      const shown = await timesFlashShown(group(), trial)
      c.flashShown.push(shown)
      if (shown !== 1) notOnce++
    }
    c.flashNotOnce = notOnce
    if (asserted) expect(notOnce).toBe(0)
  }, 120_000)
}
