import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const SOURCE_ENTRY = fileURLToPath(new URL('./src/index.ts', import.meta.url))
const PLUGIN_DIR = fileURLToPath(new URL('./types-test/plugin/', import.meta.url))

export default defineConfig({
  plugins: [
    {
      // The test plugin package (types-test/plugin, issue 14) imports `typed-session` by name, as a
      // published plugin would; in the tests that is the sources, the one copy the tests use.
      name: 'typed-session-for-the-test-plugin',
      resolveId: (id, importer) =>
        id === 'typed-session' && importer?.startsWith(PLUGIN_DIR) ? SOURCE_ENTRY : undefined,
    },
  ],
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
