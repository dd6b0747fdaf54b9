// The child side of multi-process.ts: listen on a free loopback port and report it, hold requests
// at barriers the parent test releases, and exit with the parent.
import { createServer } from 'node:http'

const waiting = new Map()
const released = new Set()

process.on('message', (message) => {
  if (message?.type !== 'release') return
  released.add(message.name)
  for (const resolve of waiting.get(message.name) ?? []) resolve()
  waiting.delete(message.name)
})
// The parent went away (a crashed test run): never outlive it.
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))

/** Tell the parent this request reached barrier `name`, and wait until the parent releases it. */
export function barrier(name) {
  process.send({ type: 'arrive', name })
  if (released.has(name)) return Promise.resolve()
  return new Promise((resolve) => {
    const list = waiting.get(name) ?? []
    list.push(resolve)
    waiting.set(name, list)
  })
}

/** Serve `handler` (an Express app) on 127.0.0.1, port 0, and tell the parent the port. */
export function serve(handler) {
  const server = createServer(handler)
  server.listen(0, '127.0.0.1', () => {
    process.send({ type: 'ready', port: server.address().port })
  })
  return server
}
