/**
 * Errors of the input plumbing (locations, reading, decompression). The message always names
 * the location and, for content errors, the byte position, so it can be shown as is.
 */
export type InputErrorCode =
  /** The path, object, bucket or URL does not exist, or a pattern matched nothing. */
  | 'missing'
  /** Reading failed: permissions, network, HTTP status, S3 error. */
  | 'io'
  /** Compressed data ends early (a truncated gzip); what came before it was delivered. */
  | 'truncated'
  /** Damaged compressed data or archive. */
  | 'corrupt'
  /** A compression or archive kind that is recognised but not supported (bzip2, xz, ...). */
  | 'unsupported'
  /** Decompressed output above the size or ratio cap: a decompression bomb, or a cap too low. */
  | 'too-large'
  /** The object changed between listing and reading (S3 ETag, HTTP ETag). */
  | 'changed'
  /** Refused by policy: http:// to a non-loopback host, a redirect downgrade. */
  | 'refused'
  /** A location spec that cannot be understood. */
  | 'invalid';

export class InputError extends Error {
  override readonly name = 'InputError';
  readonly code: InputErrorCode;
  /** The location (path, s3:// or https:// URL, `archive.zip!/entry`). */
  readonly uri: string | undefined;
  /** Offset in the stored (compressed) bytes where the problem was seen. */
  readonly position: number | undefined;
  /** Decompressed bytes delivered before the problem. */
  readonly delivered: number | undefined;

  constructor(
    code: InputErrorCode,
    message: string,
    details: { uri?: string; position?: number; delivered?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    this.uri = details.uri;
    this.position = details.position;
    this.delivered = details.delivered;
  }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}
