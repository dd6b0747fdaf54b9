// The cross-process scenarios of issue 12 on a group of owner-app.mjs processes: 20 concurrent
// logins of one user must all be indexed; revoke-all in one process must end every one, with a
// request of each in flight in the other process (each returns what a user would notice).
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'
import {
  cookiePair,
  requestWithCookie,
  type ServerProcesses,
  startServerProcesses,
} from '../helpers/multi-process.js'

/** The app every process runs. */
export const OWNER_APP = fileURLToPath(new URL('./owner-app.mjs', import.meta.url))
/** Logins of one user per scenario. */
export const LOGINS = 20

/** Start 2 owner-app processes over the store `env` describes. */
export function startOwnerApps(env: Record<string, string>): Promise<ServerProcesses> {
  return startServerProcesses({ count: 2, script: OWNER_APP, env })
}

/** A user name of its own for one scenario. */
export const uniqueUser = (): string => `user-${randomBytes(6).toString('hex')}`

export async function getJson(url: string, path: string, cookie?: string): Promise<unknown> {
  const response = await requestWithCookie(url, path, cookie)
  expect(response.status, response.body).toBe(200)
  return JSON.parse(response.body || 'null') as unknown
}

/** {@link LOGINS} logins of `user` at once, alternating between the processes; the cookies. */
export async function loginMany(group: ServerProcesses, user: string): Promise<string[]> {
  const responses = await Promise.all(
    Array.from({ length: LOGINS }, (_, i) =>
      requestWithCookie(group.urls[i % 2]!, `/login?user=${user}`),
    ),
  )
  return responses.map((response) => {
    expect(response.status, response.body).toBe(200)
    return cookiePair(response)!
  })
}

/** How many of `cookies` are still signed in (asked of both processes in turn). */
export async function signedIn(
  group: ServerProcesses,
  cookies: readonly string[],
): Promise<number> {
  let count = 0
  for (const [i, cookie] of cookies.entries()) {
    const me = (await getJson(group.urls[i % 2]!, '/me', cookie)) as { user: string | null }
    if (me.user !== null) count++
  }
  return count
}

/** How many of the user's sessions each process lists. */
export async function listedCounts(group: ServerProcesses, user: string): Promise<number[]> {
  return Promise.all(
    group.urls.map(
      async (url) => ((await getJson(url, `/sessions?user=${user}`)) as unknown[]).length,
    ),
  )
}

/**
 * Log in {@link LOGINS} times, hold one request of every session in process B (loaded, writing
 * later), end them all from process A with `end` (a revoke-all, or an epoch bump), let the held
 * requests write, and count the sessions still signed in.
 */
export async function endedWhileInFlight(
  group: ServerProcesses,
  user: string,
  end: () => Promise<void>,
): Promise<{ signedInBefore: number; back: number }> {
  const cookies = await loginMany(group, user)
  const signedInBefore = await signedIn(group, cookies)
  const name = `slow-${randomBytes(6).toString('hex')}`
  const slow = Promise.all(
    cookies.map((cookie) => requestWithCookie(group.urls[1]!, `/slow?barrier=${name}`, cookie)),
  )
  await group.arrived(name, LOGINS)
  await end()
  group.release(name)
  for (const response of await slow) expect(response.status, response.body).toBe(200)
  return { signedInBefore, back: await signedIn(group, cookies) }
}
