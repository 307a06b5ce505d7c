/**
 * The x509 layer's one error type: input that cannot be decoded as a certificate at all (not a
 * SEQUENCE, a length past the end, a TBSCertificate that does not frame). Everything less than
 * that becomes a `parse_warnings` entry on a returned record instead.
 *
 * `reason` is stable text (no offsets) so callers can group rejects by it; `offset` is the byte
 * where decoding stopped, relative to the bytes the parser was given.
 */
export class X509Error extends Error {
  readonly reason: string;
  readonly offset: number;
  constructor(reason: string, offset: number) {
    super(`${reason} (at byte ${offset})`);
    this.name = 'X509Error';
    this.reason = reason;
    this.offset = offset;
  }

  /** The same error with its offset moved by `by` (a certificate found inside a larger file). */
  shifted(by: number): X509Error {
    return by === 0 ? this : new X509Error(this.reason, this.offset + by);
  }
}
