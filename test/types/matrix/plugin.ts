/*
 * A plugin as the matrix compiles it (issue 14): it adds `tracker` to every session by declaration
 * merging and ships the fragment that validates it. Only plugin-app.ts and plugin-fail.ts import
 * it: the augmentation applies to every session() of the program it is in.
 */
import { type SessionExtension, sessionExtension } from 'typed-session'
import { z } from 'zod'

declare module 'typed-session' {
  interface SessionExtensions {
    tracker?: { visits: number; lastPath?: string | undefined } | undefined
  }
}

export const trackerExtension: SessionExtension<'tracker'> = sessionExtension({
  tracker: z
    .object({ visits: z.number().int().nonnegative(), lastPath: z.string().optional() })
    .optional(),
})
