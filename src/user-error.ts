// Errors about what the user gave us (arguments, config, input files): the CLI prints the message
// and exits 2, never with a stack trace. Anything else is a bug or the environment, reported as such.

export class UserError extends Error {
  override name = "UserError";
}

/** Arguments that do not make sense together, or a command that cannot run as asked. */
export class UsageError extends UserError {
  override name = "UsageError";
}
