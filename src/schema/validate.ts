import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { SessionIssue } from '../errors.js'

/** The outcome of validating one value: the schema's output, or the issues. */
export type Validation =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly issues: readonly SessionIssue[] }

/**
 * Validate `value` with any Standard Schema. Synchronous schemas (zod, valibot) stay synchronous:
 * no promise is created on the request path unless the schema itself is async.
 */
export function validate(
  schema: StandardSchemaV1,
  value: unknown,
): Validation | Promise<Validation> {
  let result: StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>
  try {
    result = schema['~standard'].validate(value)
  } catch (cause) {
    // A schema that throws (a buggy refinement) is treated as a failed validation, not a crash.
    return { ok: false, issues: [{ message: `schema threw: ${describe(cause)}` }] }
  }
  if (result instanceof Promise) {
    return result.then(toValidation, (cause: unknown) => ({
      ok: false,
      issues: [{ message: `schema threw: ${describe(cause)}` }],
    }))
  }
  return toValidation(result)
}

function toValidation(result: StandardSchemaV1.Result<unknown>): Validation {
  if (result.issues === undefined) return { ok: true, value: result.value }
  return {
    ok: false,
    issues: result.issues.map((issue) => ({ message: issue.message, path: issue.path })),
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause)
}
