/**
 * The errors the core throws on purpose. Each names its class (`name`), and a re-wrap passes the
 * original as `cause`, so logs show the whole chain.
 */
export class CoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** The core's own data broke a rule the core itself guarantees: a bug or corrupt storage, never bad input. */
export class InvariantError extends CoreError {}

/** Conditional writes kept losing to concurrent writers; the request may be retried. */
export class ContentionError extends CoreError {}

/** Input from outside a request (a test definition file, say) is not valid; the message names every problem. */
export class InvalidInputError extends CoreError {}
