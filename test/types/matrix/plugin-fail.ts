/*
 * Must NOT compile, on every compiler of the matrix (same rules as fail.ts): a plugin's key without
 * its fragment, the app's schema redefining it, a fragment that does not match its declared type.
 */
import { session, sessionExtension } from 'typed-session'
import { z } from 'zod'
import { trackerExtension } from './plugin.js'

const secret = 'a-secret-of-at-least-thirty-two-characters'

export const missing = session({
  schema: z.object({ views: z.number().default(0) }), // error: key 'tracker': a plugin's key (declared in SessionExtensions) without its schema, pass the plugin's fragment: session({ extensions: [...] })
  secret,
})

export const colliding = session({
  schema: z.object({ tracker: z.number().optional() }), // error: key 'tracker': also a plugin's key (declared in SessionExtensions), remove it from the schema: the plugin's extension validates it
  secret,
  extensions: [trackerExtension],
})

const wrongShape = { tracker: z.object({ visits: z.string() }).optional() }
export const wrongType = sessionExtension(wrongShape) // error: key 'tracker': the schema does not match the type declared in SessionExtensions
