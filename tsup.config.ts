import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Keep runtime dependencies external: users dedupe them with the rest of their app.
  external: ['cookie', 'cookie-signature'],
})
