import { defineConfig } from 'tsup'

export default defineConfig({
  // One entry per subpath: `typed-session/redis` and `typed-session/pg` keep the main entry free
  // of their (optional peer) clients.
  entry: ['src/index.ts', 'src/redis.ts', 'src/pg.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Keep runtime dependencies external: users dedupe them with the rest of their app.
  external: ['cookie', 'cookie-signature'],
})
