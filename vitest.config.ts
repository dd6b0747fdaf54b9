import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests share the machine's Redis and PostgreSQL; files keep their own key prefixes.
    // Bounds for a hung test, not speed limits: the suite must stay green with both cores busy
    // (the heaviest tests send 10,000 requests or start child processes).
    testTimeout: 60_000,
    hookTimeout: 120_000,
    typecheck: { enabled: false },
  },
})
