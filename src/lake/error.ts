/**
 * The lake's one error type. `kind` lets callers (the CLI, the commit loop) react without
 * string matching; `file` names the object at fault so that a user can go and look at it.
 */
export type DeltaErrorKind =
  | 'not-a-table' // no _delta_log or no commits
  | 'missing-file' // the log names a file that storage does not have
  | 'corrupt' // a commit, checkpoint or data file that cannot be decoded
  | 'unsupported' // a table feature or type we refuse rather than read wrongly
  | 'conflict' // a concurrent commit invalidated ours and retries ran out
  | 'invalid' // bad argument: unknown column, bad version, bad schema
  | 'storage'; // I/O failure of the storage backend

export class DeltaError extends Error {
  readonly kind: DeltaErrorKind;
  readonly file: string | undefined;
  constructor(kind: DeltaErrorKind, message: string, options: { file?: string; cause?: unknown } = {}) {
    super(options.file ? `${message} (${options.file})` : message, { cause: options.cause });
    this.name = 'DeltaError';
    this.kind = kind;
    this.file = options.file;
  }
}
