/**
 * What this process knows about one session while requests for it are in flight. Requests that
 * overlap on one session share an entry; it goes away when the last of them ends.
 */
export interface LiveEntry {
  /** Requests holding this entry. */
  refs: number
  /** Writes made through this entry; a request compares it with the value it saw when it began. */
  version: number
  /** Writes issued but not yet confirmed by the store. */
  pendingWrites: number
  /** The data (and flash) as last written by this process, as JSON. */
  latestJson: string | undefined
  /** Set once `destroy()` or `regenerate()` ended the session: nothing may write it again. */
  destroyed: boolean
  /**
   * The tail of this session's write queue: writes reach the store in the order they merged. It
   * rejects while the last write failed, so writes queued behind a failed one fail at once.
   */
  queue: Promise<unknown>
  /** Flash messages taken by a request, so a parallel request does not show them again. */
  takenFlash: Set<string> | undefined
}

/**
 * The sessions this process is working on, per store. Two requests on one session in one process
 * see each other's writes here, which is what makes "concurrent writes to different keys lose
 * nothing" and "logout is final" hold for every store, even one with no atomic operations.
 */
export class LiveRegistry {
  readonly #entries = new Map<string, LiveEntry>()

  /** Join (or open) the entry for `id`. Every `acquire` must be paired with one `release`. */
  acquire(id: string): LiveEntry {
    let entry = this.#entries.get(id)
    if (entry === undefined) {
      entry = {
        refs: 0,
        version: 0,
        pendingWrites: 0,
        latestJson: undefined,
        destroyed: false,
        queue: Promise.resolve(),
        takenFlash: undefined,
      }
      this.#entries.set(id, entry)
    }
    entry.refs++
    return entry
  }

  /** Leave the entry for `id`; the last one out removes it. */
  release(id: string, entry: LiveEntry): void {
    entry.refs--
    if (entry.refs <= 0 && this.#entries.get(id) === entry) this.#entries.delete(id)
  }

  /** The entry for `id` if requests for it are in flight, without joining it (revocation). */
  peek(id: string): LiveEntry | undefined {
    return this.#entries.get(id)
  }

  /** How many sessions have requests in flight (for leak tests). */
  get size(): number {
    return this.#entries.size
  }
}

const registries = new WeakMap<object, LiveRegistry>()

/** The registry of `store`: middleware instances sharing a store share it too. */
export function registryFor(store: object): LiveRegistry {
  let registry = registries.get(store)
  if (registry === undefined) {
    registry = new LiveRegistry()
    registries.set(store, registry)
  }
  return registry
}
