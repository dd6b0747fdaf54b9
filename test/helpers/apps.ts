import type { IncomingMessage, ServerResponse } from 'node:http'
import express from 'express'
import express4 from 'express4'
import { isSessionError, type SessionMiddleware } from '../../src/index.js'
import { listen, type TestServer } from './http.js'

/** The three hosts the middleware must work on. */
export const FRAMEWORKS = ['express5', 'express4', 'node:http'] as const
export type Framework = (typeof FRAMEWORKS)[number]

/** A request as handlers see it: the session members plus loose data (tests check behaviour, not types). */
export type SessionRequest = IncomingMessage & {
  session: Record<string, unknown> & {
    id: string
    cookie: { maxAge: number | undefined; expires: Date | null; originalMaxAge: number | null }
    save(): Promise<void>
    reload(): Promise<void>
    regenerate(options?: { keep?: string[] }): Promise<void>
    destroy(): Promise<void>
    touch(): unknown
    resetMaxAge(): unknown
  }
  sessionID: string
  sessionStore: unknown
  flash: (...args: unknown[]) => unknown
}

/** A route handler written against node's API only, so it runs on every framework. */
export type Handler = (req: SessionRequest, res: ServerResponse) => unknown

/**
 * Serve `routes` ('GET /path' -> handler) behind `middleware` on `framework`. Errors passed to
 * `next` answer with their status (503 for store failures) and the error code as the body.
 */
export async function serve(
  framework: Framework,
  middleware: SessionMiddleware<unknown, unknown>,
  routes: Record<string, Handler>,
): Promise<TestServer> {
  const answerError = (err: unknown, res: ServerResponse): void => {
    const status = isSessionError(err) ? err.status : 500
    res.statusCode = status
    res.end(isSessionError(err) ? err.code : String(err))
  }
  const run = async (
    handler: Handler,
    req: IncomingMessage,
    res: ServerResponse,
    next: (err: unknown) => void,
  ) => {
    try {
      await handler(req as SessionRequest, res)
    } catch (err) {
      next(err)
    }
  }
  if (framework === 'node:http') {
    return listen((req, res) => {
      const fail = (err: unknown) => answerError(err, res)
      middleware(req, res, (err?: unknown) => {
        if (err !== undefined) return fail(err)
        const path = (req.url ?? '/').split('?')[0]
        const handler = routes[`${req.method} ${path}`]
        if (handler === undefined) {
          res.statusCode = 404
          res.end('not found')
          return
        }
        void run(handler, req, res, fail)
      })
    })
  }
  const app = framework === 'express5' ? express() : express4()
  app.use(middleware)
  for (const [route, handler] of Object.entries(routes)) {
    const [method = 'GET', path = '/'] = route.split(' ')
    const register = method === 'POST' ? app.post.bind(app) : app.get.bind(app)
    register(path, (req: IncomingMessage, res: ServerResponse, next: (err: unknown) => void) => {
      void run(handler, req, res, next)
    })
  }
  app.use((err: unknown, _req: IncomingMessage, res: ServerResponse, _next: unknown) =>
    answerError(err, res),
  )
  return listen(app)
}

/** Send a JSON body. */
export function json(res: ServerResponse, value: unknown): void {
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(value))
}
