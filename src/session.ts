import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { SessionOptions } from './options.js'
import type { SessionMiddleware } from './register.js'
import type { FlashOption, FlashValues, SchemaCheck, SchemaOutput } from './schema/check.js'

/**
 * Create the session middleware. (Implementation in progress.)
 */
export function session<TSchema extends StandardSchemaV1, const TFlash extends FlashOption = {}>(
  options: SessionOptions<TSchema, TFlash> & { schema: TSchema & SchemaCheck<TSchema, TFlash> },
): SessionMiddleware<SchemaOutput<TSchema>, FlashValues<TFlash>> {
  throw new Error(`not implemented ${String(options)}`)
}
