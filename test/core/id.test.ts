import { describe, expect, it } from 'vitest'
import { generateId, isValidId } from '../../src/core/id.js'

describe('generateId', () => {
  it('makes 100,000 distinct ids of 32 base64url characters (192 bits)', () => {
    const ids = new Set<string>()
    for (let i = 0; i < 100_000; i++) ids.add(generateId())
    expect(ids.size).toBe(100_000)
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/)
      expect(isValidId(id)).toBe(true)
    }
  })

  it('uses every bit: each of the 64 characters appears in every position', () => {
    const seen = Array.from({ length: 32 }, () => new Set<string>())
    for (let i = 0; i < 5_000; i++) {
      const id = generateId()
      for (let p = 0; p < 32; p++) seen[p]!.add(id[p]!)
    }
    // 24 bytes are exactly 32 base64 characters of 6 bits each: all 64 values show up everywhere.
    for (let p = 0; p < 32; p++) expect(seen[p]!.size).toBe(64)
  })
})

describe('isValidId', () => {
  it('accepts ids of 16 to 256 URL-safe characters and nothing else', () => {
    expect(isValidId('a'.repeat(16))).toBe(true)
    expect(isValidId('a'.repeat(256))).toBe(true)
    expect(isValidId('a'.repeat(15))).toBe(false)
    expect(isValidId('a'.repeat(257))).toBe(false)
    for (const bad of [
      '../../xxxxxxxxxxxxxxxx',
      'a:bbbbbbbbbbbbbbbbbb',
      '*'.repeat(20),
      `${'a'.repeat(20)}\u0000`,
      42,
      null,
    ]) {
      expect(isValidId(bad)).toBe(false)
    }
  })
})
