/**
 * PEM blocks (RFC 7468) out of text that may hold anything else around them: the zlint fixtures
 * put an OpenSSL text dump above the PEM, bundles concatenate many, mail and logs wrap them.
 * Tolerant like OpenSSL's reader (RFC 1421 header lines such as `Proc-Type:` skipped, whitespace
 * and CRs ignored) but it says what it could not read: a BEGIN without END (a truncated file) or
 * bad base64 is reported with its line and offset, and an unterminated block still yields the
 * base64 lines it has.
 *
 * Offsets are character offsets in the text; given bytes, the text is their Latin-1 reading, so
 * offsets are byte offsets.
 */

export interface PemBlock {
  /** What follows `-----BEGIN `: `CERTIFICATE`, `X509 CERTIFICATE`, `TRUSTED CERTIFICATE`, `PKCS7`... */
  label: string;
  der: Uint8Array;
  /** 1-based line of the BEGIN line. */
  line: number;
  /** Offset of the BEGIN line. */
  offset: number;
}

export interface PemProblem {
  line: number;
  offset: number;
  reason: string;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Maps offsets to 1-based line numbers, for offsets visited in increasing order. */
class LineCounter {
  private offset = 0;
  private line = 1;
  constructor(private readonly text: string) {}
  at(offset: number): number {
    if (offset < this.offset) {
      this.offset = 0;
      this.line = 1;
    }
    for (let i = this.text.indexOf('\n', this.offset); i !== -1 && i < offset; i = this.text.indexOf('\n', i + 1)) this.line++;
    this.offset = offset;
    return this.line;
  }
}

/**
 * Every PEM block in `input` whose label is in `labels` (all blocks when omitted), decoded.
 * Blocks with bad base64 are reported in `errors` and left out.
 */
export function parsePemBlocks(input: string | Uint8Array, labels?: ReadonlySet<string>): { blocks: PemBlock[]; errors: PemProblem[] } {
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  const lines = new LineCounter(text);
  const blocks: PemBlock[] = [];
  const errors: PemProblem[] = [];
  // The next END at or after the current block (-1: none left). Kept across blocks so that a
  // file of BEGIN lines without END is read in one pass, not one pass per BEGIN.
  let endCursor = -2;
  let pos = text.indexOf(BEGIN);
  while (pos !== -1) {
    const labelEnd = text.indexOf(DASHES, pos + BEGIN.length);
    const eol = lineEnd(text, pos);
    const next = text.indexOf(BEGIN, pos + BEGIN.length);
    const line = lines.at(pos);
    if (labelEnd === -1 || labelEnd > eol) {
      errors.push({ line, offset: pos, reason: 'BEGIN line without closing dashes' });
      pos = next;
      continue;
    }
    const label = text.slice(pos + BEGIN.length, labelEnd);
    if (labels && !labels.has(label)) {
      pos = next;
      continue;
    }
    const bodyStart = Math.min(eol + 1, text.length);
    const limit = next === -1 ? text.length : next;
    if (endCursor !== -1 && endCursor < bodyStart) endCursor = text.indexOf(END, bodyStart);
    const endAt = endCursor;
    const terminated = endAt !== -1 && endAt < limit;
    if (!terminated) errors.push({ line, offset: pos, reason: `BEGIN ${label} without END (truncated)` });
    // Problems in offset order (the line counter only moves forward cheaply).
    const body = decodeBody(text, bodyStart, terminated ? endAt : limit, !terminated);
    if (body.bad !== -1) {
      errors.push({ line: lines.at(body.bad), offset: body.bad, reason: `bad base64 in ${label} block` });
    } else if (body.b64.length > 0) {
      blocks.push({ label, der: new Uint8Array(Buffer.from(body.b64, 'base64')), line, offset: pos });
    } else if (terminated) {
      errors.push({ line, offset: pos, reason: `empty ${label} block` });
    }
    if (terminated) {
      const endLabelEnd = text.indexOf(DASHES, endAt + END.length);
      const endLabel = endLabelEnd === -1 || endLabelEnd > lineEnd(text, endAt) ? '' : text.slice(endAt + END.length, endLabelEnd);
      if (endLabel !== label) errors.push({ line: lines.at(endAt), offset: endAt, reason: `BEGIN ${label} closed by END ${endLabel}` });
    }
    pos = next;
  }
  return { blocks, errors };
}

function lineEnd(text: string, pos: number): number {
  const i = text.indexOf('\n', pos);
  return i === -1 ? text.length : i;
}

/**
 * The base64 of a block body, or the offset of its first bad line. An unterminated body (`open`)
 * ends quietly at its first line that is not base64: what follows is some other text.
 */
function decodeBody(text: string, start: number, end: number, open: boolean): { b64: string; bad: number } {
  let b64 = '';
  let headers = true;
  let padded = false;
  for (let p = start; p < end; ) {
    const e = Math.min(lineEnd(text, p), end);
    const raw = text.slice(p, e);
    const s = raw.replace(/[\s]+/g, '');
    const at = p;
    p = e + 1;
    if (headers && raw.includes(':')) continue; // RFC 1421 encapsulated header
    if (s === '') {
      headers = false;
      continue;
    }
    headers = false;
    if (!BASE64_LINE.test(s) || padded) {
      if (open) break;
      return { b64: '', bad: at };
    }
    if (s.includes('=')) padded = true;
    b64 += s;
  }
  if (b64.length % 4 === 1) return { b64: '', bad: start };
  return { b64, bad: -1 };
}
