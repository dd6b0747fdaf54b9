import { randomBytes } from 'node:crypto'
import type { SessionRecord, SessionStore, StoredCookie } from './types.js'

/**
 * One check of the store conformance suite. `run` resolves when the store behaves, and rejects
 * with an `Error` saying what it did instead. Each case cleans up the records it wrote.
 */
export interface StoreConformanceCase {
  /** What the store must do, as a sentence. */
  readonly name: string
  /** Run the check against `store` (native, or adapted with `toSessionStore`). */
  run(store: SessionStore): Promise<void>
}

/** The outcome of one case from {@link runStoreConformance}. */
export interface StoreConformanceResult {
  readonly name: string
  /** `undefined` when the case passed. */
  readonly error: Error | undefined
}

const HOUR_MS = 3_600_000

// Ids that break stores built on plain objects (`__proto__`, `constructor`), key namespaces
// (`a:b`, Django CVE-2011-4136), glob patterns (`*`, Redis SCAN / KEYS) and string-built SQL.
const HOSTILE_IDS: readonly string[] = [
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'a:b',
  '*',
  "'; DROP TABLE session; --",
  '%00',
]

// The same words as data keys, parsed from JSON so `__proto__` is an own key, not the prototype.
const HOSTILE_DATA_JSON =
  '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},' +
  '"a:b":1,"*":[2],"\'; DROP TABLE session; --":"x","%00":"%00","nested":{"__proto__":{"polluted":true}},' +
  '"unicode":"\u00e9\u4e2d\ud83d\ude00","quote":"\\"\\\\"}'

/**
 * The store conformance suite (SECURITY-CASES E9): what typed-session relies on from a store.
 * Framework-agnostic: run each case with your test runner, or all of them with
 * {@link runStoreConformance}. Cases that need `touch` or `patch` pass trivially when the store
 * does not implement them.
 *
 * @example
 * ```ts
 * import { storeConformance, toSessionStore } from 'typed-session'
 * const store = toSessionStore(new MyStore(), { timeoutMs: 2000 })
 * for (const c of storeConformance) it(c.name, () => c.run(store))
 * ```
 */
export const storeConformance: ReadonlyArray<StoreConformanceCase> = [
  {
    name: 'get of an unknown id resolves null or undefined',
    async run(store) {
      const found = await store.get(uniqueId())
      check(found === null || found === undefined, `get(unknown) returned ${describe(found)}`)
    },
  },
  {
    name: 'destroy of an unknown id succeeds',
    async run(store) {
      await store.destroy(uniqueId())
    },
  },
  {
    name: 'get returns what set stored (JSON-equal)',
    async run(store) {
      const id = uniqueId()
      const record = makeRecord({
        userId: 'u1',
        views: 3,
        cart: [{ sku: 'a', qty: 1 }],
        flag: false,
      })
      await withCleanup(store, [id], async () => {
        await store.set(id, record)
        await expectRecord(store, id, record)
      })
    },
  },
  {
    name: 'set replaces the whole record (upsert)',
    async run(store) {
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        await store.set(id, makeRecord({ a: 1, b: 2 }))
        const second = makeRecord({ a: 3 })
        await store.set(id, second)
        await expectRecord(store, id, second)
      })
    },
  },
  {
    name: 'destroy removes the record and leaves others alone',
    async run(store) {
      const [gone, kept] = [uniqueId(), uniqueId()]
      const keptRecord = makeRecord({ who: 'kept' })
      await withCleanup(store, [gone, kept], async () => {
        await store.set(gone, makeRecord({ who: 'gone' }))
        await store.set(kept, keptRecord)
        await store.destroy(gone)
        await expectMissing(store, gone, 'after destroy')
        await expectRecord(store, kept, keptRecord)
      })
    },
  },
  {
    name: 'a record whose cookie.expires is in the past is never returned',
    async run(store) {
      const [fresh, overwritten] = [uniqueId(), uniqueId()]
      await withCleanup(store, [fresh, overwritten], async () => {
        await store.set(fresh, makeRecord({ a: 1 }, -HOUR_MS))
        await expectMissing(store, fresh, 'after set with a past expiry')
        await store.set(overwritten, makeRecord({ a: 1 }))
        await store.set(overwritten, makeRecord({ a: 2 }, -1000))
        await expectMissing(store, overwritten, 'after overwriting it with a past expiry')
      })
    },
  },
  {
    name: 'touch of an unknown id does not create a record',
    async run(store) {
      if (store.touch === undefined) return
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        await store.touch!(id, makeRecord({ a: 1 }))
        await expectMissing(store, id, 'after touch')
      })
    },
  },
  {
    name: 'touch keeps the data of an existing record',
    async run(store) {
      if (store.touch === undefined) return
      const id = uniqueId()
      const record = makeRecord({ a: 1, list: [1, 2] })
      await withCleanup(store, [id], async () => {
        await store.set(id, record)
        await store.touch!(id, makeRecord({ different: true }, 2 * HOUR_MS))
        const after = await load(store, id)
        check(isObject(after), `get after touch returned ${describe(after)}`)
        const { cookie: _c, ...data } = after as Record<string, unknown>
        const { cookie: _d, ...expected } = record
        checkEqual(data, expected, 'touch changed the data')
      })
    },
  },
  {
    name: 'hostile ids round-trip without touching other records',
    async run(store) {
      const witness = uniqueId()
      const witnessRecord = makeRecord({ witness: true })
      await withCleanup(store, [witness, ...HOSTILE_IDS], async () => {
        await store.set(witness, witnessRecord)
        for (const id of HOSTILE_IDS) {
          const record = makeRecord({ id })
          await store.set(id, record)
          await expectRecord(store, id, record)
        }
        for (const id of HOSTILE_IDS) await store.destroy(id)
        for (const id of HOSTILE_IDS) await expectMissing(store, id, 'after destroy')
        await expectRecord(store, witness, witnessRecord)
        checkNoPollution()
      })
    },
  },
  {
    name: 'hostile data keys (__proto__, constructor, a:b, *, SQL) round-trip without pollution',
    async run(store) {
      const id = uniqueId()
      const record = { ...(JSON.parse(HOSTILE_DATA_JSON) as object), cookie: makeCookie(HOUR_MS) }
      await withCleanup(store, [id], async () => {
        await store.set(id, record)
        const found = await load(store, id)
        check(isObject(found), `get returned ${describe(found)}`)
        const proto = Object.getPrototypeOf(found)
        check(
          proto === Object.prototype || proto === null,
          'the loaded record has a foreign prototype: `__proto__` was applied instead of kept as a key',
        )
        check(Object.hasOwn(found as object, '__proto__'), 'the `__proto__` key was lost')
        checkEqual(found, record, 'hostile data keys did not round-trip')
        checkNoPollution()
      })
    },
  },
  {
    name: 'a loaded object is a copy: changing it does not change the store',
    async run(store) {
      const id = uniqueId()
      const record = makeRecord({ list: [1], nested: { n: 1 } })
      await withCleanup(store, [id], async () => {
        await store.set(id, record)
        const first = await store.get(id)
        if (isObject(first)) {
          ;(first as { list: number[] }).list.push(2)
          ;(first as { nested: { n: number } }).nested.n = 2
        }
        // The record passed to set must not be retained by reference either.
        ;(record.list as number[]).push(3)
        await expectRecord(store, id, makeRecordLike(record, { list: [1], nested: { n: 1 } }))
      })
    },
  },
  {
    name: 'patch of an unknown id resolves false and creates nothing',
    async run(store) {
      if (store.patch === undefined) return
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        const applied = await store.patch!(id, {
          set: { a: 1 },
          unset: [],
          cookie: makeCookie(HOUR_MS),
        })
        check(applied === false, `patch(unknown) resolved ${describe(applied)}, expected false`)
        await expectMissing(store, id, 'after patch')
      })
    },
  },
  {
    name: 'patch sets and unsets keys on the stored record, keeps the rest, replaces the cookie',
    async run(store) {
      if (store.patch === undefined) return
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        await store.set(id, makeRecord({ a: 1, b: 2, keep: 'k' }))
        const cookie = makeCookie(2 * HOUR_MS)
        const applied = await store.patch!(id, {
          set: { a: 10, c: [3] },
          unset: ['b', 'absent'],
          cookie,
        })
        check(applied === true, `patch(existing) resolved ${describe(applied)}, expected true`)
        await expectRecord(store, id, { a: 10, c: [3], keep: 'k', cookie })
      })
    },
  },
  {
    name: 'concurrent patches of different keys all land',
    async run(store) {
      if (store.patch === undefined) return
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        await store.set(id, makeRecord({ base: true }))
        const cookie = makeCookie(HOUR_MS)
        const keys = Array.from({ length: 10 }, (_, i) => `k${i}`)
        await Promise.all(keys.map((k) => store.patch!(id, { set: { [k]: k }, unset: [], cookie })))
        const expected: Record<string, unknown> = { base: true, cookie }
        for (const k of keys) expected[k] = k
        await expectRecord(store, id, expected)
      })
    },
  },
  {
    name: 'patch after destroy resolves false and does not resurrect the session',
    async run(store) {
      if (store.patch === undefined) return
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        await store.set(id, makeRecord({ userId: 'u1' }))
        await store.destroy(id)
        const applied = await store.patch!(id, {
          set: { x: 1 },
          unset: [],
          cookie: makeCookie(HOUR_MS),
        })
        check(
          applied === false,
          `patch after destroy resolved ${describe(applied)}, expected false`,
        )
        await expectMissing(store, id, 'after patch of a destroyed session')
      })
    },
  },
  {
    name: 'patch with a __proto__ key stores it as data, without pollution',
    async run(store) {
      if (store.patch === undefined) return
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        await store.set(id, makeRecord({ a: 1 }))
        const set = JSON.parse('{"__proto__":{"polluted":true}}') as Record<string, unknown>
        const cookie = makeCookie(HOUR_MS)
        await store.patch!(id, { set, unset: [], cookie })
        const found = await load(store, id)
        check(isObject(found) && Object.hasOwn(found, '__proto__'), 'the `__proto__` key was lost')
        checkEqual(found, { a: 1, ...set, cookie }, 'patched record differs')
        checkNoPollution()
      })
    },
  },
  {
    name: 'patch keeps the values it does not change exactly (floats, empty lists and objects, unicode)',
    async run(store) {
      if (store.patch === undefined) return
      const id = uniqueId()
      // What a store that decodes and re-encodes the record gets wrong: Redis' cjson turns `[]`
      // into `{}` and keeps 14 significant digits.
      const kept = {
        float: 0.30000000000000004,
        big: 9007199254740991,
        tiny: 1e-7,
        list: [],
        object: {},
        nested: [[], [{}], { a: [] }],
        text: 'caf\u00e9 \ud83d\ude00 / "q" \\ \n',
      }
      await withCleanup(store, [id], async () => {
        await store.set(id, makeRecord(kept))
        const cookie = makeCookie(HOUR_MS)
        await store.patch!(id, { set: { added: [] }, unset: [], cookie })
        await expectRecord(store, id, { ...kept, added: [], cookie })
      })
    },
  },
  {
    name: 'create stores a record under an unknown id and resolves true',
    async run(store) {
      if (store.create === undefined) return
      const id = uniqueId()
      const record = makeRecord({ userId: 'u1', list: [] })
      await withCleanup(store, [id], async () => {
        const created = await store.create!(id, record)
        check(created === true, `create(unknown) resolved ${describe(created)}, expected true`)
        await expectRecord(store, id, record)
      })
    },
  },
  {
    name: 'create of a taken id resolves false and leaves the record alone',
    async run(store) {
      if (store.create === undefined) return
      const id = uniqueId()
      const first = makeRecord({ owner: 'first' })
      await withCleanup(store, [id], async () => {
        await store.set(id, first)
        const created = await store.create!(id, makeRecord({ owner: 'second' }))
        check(created === false, `create(taken) resolved ${describe(created)}, expected false`)
        await expectRecord(store, id, first)
      })
    },
  },
  {
    name: 'of concurrent creates of one id exactly one wins',
    async run(store) {
      if (store.create === undefined) return
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.create!(id, makeRecord({ owner: i }))),
        )
        const winners = results.flatMap((created, i) => (created ? [i] : []))
        check(winners.length === 1, `${winners.length} of 8 concurrent creates resolved true`)
        await expectRecord(store, id, { owner: winners[0] }, true)
      })
    },
  },
  {
    name: 'create over an expired record succeeds',
    async run(store) {
      if (store.create === undefined) return
      const id = uniqueId()
      const record = makeRecord({ fresh: true })
      await withCleanup(store, [id], async () => {
        await store.set(id, makeRecord({ stale: true }, -1000))
        const created = await store.create!(id, record)
        check(created === true, `create over an expired record resolved ${describe(created)}`)
        await expectRecord(store, id, record)
      })
    },
  },
  {
    name: 'takeFlash removes and returns the queue, keeps the rest, and gives it out once',
    async run(store) {
      if (store.takeFlash === undefined) return
      const id = uniqueId()
      const flash = { info: ['saved', 'again'], error: [{ code: 1 }] }
      const record = makeRecord({ userId: 'u1', flash })
      await withCleanup(store, [id], async () => {
        await store.set(id, record)
        const taken = await takeFlash(store, id)
        checkEqual(taken, flash, 'takeFlash returned a different queue')
        const { flash: _f, ...rest } = record
        await expectRecord(store, id, rest)
        const again = await takeFlash(store, id)
        check(isEmptyQueue(again), `a second takeFlash returned ${canonical(again)}`)
      })
    },
  },
  {
    name: 'takeFlash of an unknown id resolves no messages and creates nothing',
    async run(store) {
      if (store.takeFlash === undefined) return
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        const taken = await takeFlash(store, id)
        check(isEmptyQueue(taken), `takeFlash(unknown) returned ${canonical(taken)}`)
        await expectMissing(store, id, 'after takeFlash')
      })
    },
  },
  {
    name: 'of concurrent takeFlash calls exactly one gets the messages',
    async run(store) {
      if (store.takeFlash === undefined) return
      const id = uniqueId()
      const flash = { info: ['once'] }
      await withCleanup(store, [id], async () => {
        await store.set(id, makeRecord({ flash }))
        const taken = await Promise.all(Array.from({ length: 8 }, () => takeFlash(store, id)))
        const nonEmpty = taken.filter((queue) => !isEmptyQueue(queue))
        check(
          nonEmpty.length === 1,
          `${nonEmpty.length} of 8 concurrent takeFlash calls got messages`,
        )
        checkEqual(nonEmpty[0], flash, 'the winning takeFlash returned a different queue')
      })
    },
  },
  {
    name: 'patch appends flash messages by kind after the queued ones',
    async run(store) {
      if (store.takeFlash === undefined || store.patch === undefined) return
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        await store.set(id, makeRecord({ a: 1, flash: { info: ['first'] } }))
        const cookie = makeCookie(HOUR_MS)
        await store.patch!(id, {
          set: {},
          unset: [],
          cookie,
          flash: { info: ['second'], error: ['e'] },
        })
        await store.patch!(id, { set: { b: 2 }, unset: [], cookie, flash: { info: ['third'] } })
        await expectRecord(store, id, {
          a: 1,
          b: 2,
          flash: { info: ['first', 'second', 'third'], error: ['e'] },
          cookie,
        })
        const fresh = uniqueId()
        await withCleanup(store, [fresh], async () => {
          await store.set(fresh, makeRecord({}))
          await store.patch!(fresh, { set: {}, unset: [], cookie, flash: { info: ['only'] } })
          await expectRecord(store, fresh, { flash: { info: ['only'] }, cookie })
        })
      })
    },
  },
  {
    name: 'concurrent flash appends all land',
    async run(store) {
      if (store.takeFlash === undefined || store.patch === undefined) return
      const id = uniqueId()
      await withCleanup(store, [id], async () => {
        await store.set(id, makeRecord({}))
        const cookie = makeCookie(HOUR_MS)
        const messages = Array.from({ length: 10 }, (_, i) => `m${i}`)
        await Promise.all(
          messages.map((m) =>
            store.patch!(id, { set: {}, unset: [], cookie, flash: { info: [m] } }),
          ),
        )
        const taken = (await takeFlash(store, id)) as { info?: unknown[] } | undefined
        const got = [...(taken?.info ?? [])].map(String).sort()
        checkEqual(got, [...messages].sort(), 'flash messages were lost')
      })
    },
  },
]

/**
 * Run every case of {@link storeConformance} against `store`, one after the other.
 * @returns one result per case; `error` is set on the ones that failed.
 */
export async function runStoreConformance(store: SessionStore): Promise<StoreConformanceResult[]> {
  const results: StoreConformanceResult[] = []
  for (const c of storeConformance) {
    try {
      await c.run(store)
      results.push({ name: c.name, error: undefined })
    } catch (err) {
      results.push({ name: c.name, error: err instanceof Error ? err : new Error(String(err)) })
    }
  }
  return results
}

function uniqueId(): string {
  return `conformance-${randomBytes(12).toString('base64url')}`
}

function makeCookie(expiresInMs: number): StoredCookie {
  return {
    originalMaxAge: HOUR_MS,
    expires: new Date(Date.now() + expiresInMs).toISOString(),
    httpOnly: true,
    path: '/',
    sameSite: 'lax',
  }
}

function makeRecord(data: Record<string, unknown>, expiresInMs = HOUR_MS): SessionRecord {
  return { ...data, cookie: makeCookie(expiresInMs) }
}

function makeRecordLike(record: SessionRecord, data: Record<string, unknown>): SessionRecord {
  return { ...data, cookie: record.cookie }
}

/** Run `body`, then destroy `ids` whatever happened (for the conformance suites' cases). */
export async function withCleanup(
  store: SessionStore,
  ids: readonly string[],
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body()
  } finally {
    await Promise.allSettled(ids.map((id) => store.destroy(id)))
  }
}

/** `get`, parsing a JSON string answer (the native contract allows either). */
async function load(store: SessionStore, id: string): Promise<unknown> {
  const found = await store.get(id)
  if (typeof found !== 'string') return found
  try {
    return JSON.parse(found) as unknown
  } catch {
    throw new Error(`get(${JSON.stringify(id)}) returned a string that is not JSON`)
  }
}

async function expectRecord(
  store: SessionStore,
  id: string,
  expected: unknown,
  dataOnly = false,
): Promise<void> {
  const found = await load(store, id)
  check(
    isObject(found),
    `get(${JSON.stringify(id)}) returned ${describe(found)}, expected a record`,
  )
  const [actual, wanted] = dataOnly
    ? [withoutCookie(found), withoutCookie(expected as Record<string, unknown>)]
    : [found, expected]
  checkEqual(actual, wanted, `get(${JSON.stringify(id)}) returned a different record`)
}

function withoutCookie(record: Record<string, unknown>): Record<string, unknown> {
  const { cookie: _cookie, ...data } = record
  return data
}

/** `takeFlash`, parsing a JSON string answer. */
async function takeFlash(store: SessionStore, id: string): Promise<unknown> {
  const taken = await store.takeFlash!(id)
  return typeof taken === 'string' ? (JSON.parse(taken) as unknown) : taken
}

function isEmptyQueue(queue: unknown): boolean {
  return (
    queue === null || queue === undefined || (isObject(queue) && Object.keys(queue).length === 0)
  )
}

async function expectMissing(store: SessionStore, id: string, when: string): Promise<void> {
  const found = await store.get(id)
  check(
    found === null || found === undefined,
    `get(${JSON.stringify(id)}) ${when} returned ${describe(found)}, expected null or undefined`,
  )
}

function checkNoPollution(): void {
  const probe: Record<string, unknown> = {}
  check(probe.polluted === undefined, 'Object.prototype was polluted')
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message)
}

function checkEqual(actual: unknown, expected: unknown, message: string): void {
  const [a, e] = [canonical(actual), canonical(expected)]
  if (a !== e) throw new Error(`${message}\n  expected: ${e}\n  actual:   ${a}`)
}

/** JSON with sorted keys (stores such as PostgreSQL `jsonb` reorder keys); own `__proto__` kept. */
function canonical(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (isObject(value)) {
    const keys = Object.keys(value).sort()
    return `{${keys
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(value) ?? 'undefined'
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`
  return value === null ? 'null' : typeof value
}
