/*
 * A third-party plugin as its author would write it (issue 14): it adds its own typed key to every
 * app's session by declaration merging, the way Passport adds `passport`, and ships the schema
 * fragment that validates that key in every stored record. Apps pass the fragment to `session()`.
 */
import type { RequestHandler } from 'express'
import { type SessionExtension, sessionExtension } from 'typed-session'
import { z } from 'zod'

declare module 'typed-session' {
  interface SessionExtensions {
    /** The visit tracker's slot: how many requests this session made, and the last path. */
    tracker?: { visits: number; lastPath?: string | undefined } | undefined
  }
}

/**
 * The schema fragment of the `tracker` key: `session({ ..., extensions: [trackerExtension] })`.
 * Annotated, as `isolatedDeclarations` asks: the published `.d.ts` then names only the key.
 */
export const trackerExtension: SessionExtension<'tracker'> = sessionExtension({
  tracker: z
    .object({ visits: z.number().int().nonnegative(), lastPath: z.string().optional() })
    .optional(),
})

/** Count the session's requests in its `tracker` key (typed by the augmentation above). */
export function trackVisits(): RequestHandler {
  return (req, _res, next) => {
    const visits = (req.session.tracker?.visits ?? 0) + 1
    req.session.tracker = { visits, lastPath: req.path }
    next()
  }
}
