/*
 * `secret`: strings or Buffers, alone or in a list (express-session takes both); nothing else.
 */
import { expectError } from 'tsd'
import { session } from 'typed-session'
import { z } from 'zod'

const schema = z.object({ views: z.number().int().default(0) })
const text = 'a-secret-of-at-least-thirty-two-characters'
const bytes = Buffer.from('another-secret-of-at-least-thirty-two-bytes')

session({ schema, secret: bytes })
session({ schema, secret: [bytes, text] })
session({ schema, secret: [text, bytes] as const })
expectError(session({ schema, secret: 42 }))
expectError(session({ schema, secret: [text, 42] }))
expectError(session({ schema, secret: new Uint16Array(4) }))
