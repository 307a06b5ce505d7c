/** An error the CLI reports as-is: a message for the user and the exit code (2 = bad usage). */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export function usage(message: string): CliError {
  return new CliError(message, 2);
}
