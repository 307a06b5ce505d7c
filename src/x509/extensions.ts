/**
 * The extensions block: every extension OID in order, and the two Zeek logs in x509.log, subject
 * alternative names (san.dns/uri/email/ip) and basic constraints (basic_constraints.ca/path_len).
 * A malformed SAN keeps the names read before the fault (OpenSSL, hence Zeek, drops the whole
 * extension); names are kept whole, NUL bytes included (Zeek's StringVal(char*) cuts at NUL).
 */
import { type Tlv, BOOLEAN, expectTlv, IA5_STRING, INTEGER, OCTET_STRING, OID, oidDotted, readTlv, SEQUENCE, smallInt } from './der.js';
import { X509Error } from './error.js';
import { decodeText } from './text.js';

export interface ExtensionInfo {
  /** Dotted OIDs in certificate order. */
  extensions: string[];
  dns: string[];
  ip: string[];
  email: string[];
  uri: string[];
  /** Null when there is no basic constraints extension (Zeek logs `-`). */
  is_ca: boolean | null;
  path_len: number | null;
}

const SAN = '2.5.29.17';
const BASIC_CONSTRAINTS = '2.5.29.19';

/** `exts` is the [3] element of the TBSCertificate. */
export function parseExtensions(b: Buffer, exts: Tlv, warnings: string[]): ExtensionInfo {
  const out: ExtensionInfo = { extensions: [], dns: [], ip: [], email: [], uri: [], is_ca: null, path_len: null };
  try {
    const seq = expectTlv(b, exts.body, exts.end, SEQUENCE, 'extensions');
    if (seq.end !== exts.end) warnings.push('extra data after the extensions');
    for (let p = seq.body; p < seq.end; ) {
      const ext = expectTlv(b, p, seq.end, SEQUENCE, 'extension');
      p = ext.end;
      const oid = expectTlv(b, ext.body, ext.end, OID, 'extension id');
      let v = readTlv(b, oid.end, ext.end);
      if (v.tag === BOOLEAN) v = readTlv(b, v.end, ext.end);
      if (v.tag !== OCTET_STRING) throw new X509Error('extension value is not an OCTET STRING', v.start);
      const dotted = oidDotted(b, oid.body, oid.end);
      if (dotted === null) {
        warnings.push('invalid extension OID');
        continue;
      }
      if (out.extensions.includes(dotted)) warnings.push(`duplicate extension ${dotted}`);
      out.extensions.push(dotted);
      if (dotted === SAN) parseSan(b, v, out, warnings);
      else if (dotted === BASIC_CONSTRAINTS) parseBasicConstraints(b, v, out, warnings);
    }
  } catch (e) {
    if (!(e instanceof X509Error)) throw e;
    warnings.push(`extensions malformed: ${e.reason}`);
  }
  return out;
}

function parseSan(b: Buffer, value: Tlv, out: ExtensionInfo, warnings: string[]): void {
  try {
    const seq = expectTlv(b, value.body, value.end, SEQUENCE, 'GeneralNames');
    if (seq.end !== value.end) warnings.push('extra data after the SAN extension');
    for (let p = seq.body; p < seq.end; ) {
      const gn = readTlv(b, p, seq.end);
      p = gn.end;
      switch (gn.tag) {
        case 0x81: // rfc822Name
          out.email.push(decodeText(b, IA5_STRING, gn.body, gn.end, warnings, 'SAN email')!);
          break;
        case 0x82: // dNSName
          out.dns.push(decodeText(b, IA5_STRING, gn.body, gn.end, warnings, 'SAN dNSName')!);
          break;
        case 0x86: // uniformResourceIdentifier
          out.uri.push(decodeText(b, IA5_STRING, gn.body, gn.end, warnings, 'SAN URI')!);
          break;
        case 0x87: // iPAddress
          if (gn.end - gn.body === 4 || gn.end - gn.body === 16) out.ip.push(formatIp(b, gn.body, gn.end));
          else warnings.push(`SAN IP address of ${gn.end - gn.body} bytes`);
          break;
        case 0xa0: {
          // otherName { type-id OID, value [0] EXPLICIT ANY }: not logged, but checked, as OpenSSL does.
          const id = expectTlv(b, gn.body, gn.end, OID, 'otherName type');
          if (readTlv(b, id.end, gn.end).tag !== 0xa0) throw new X509Error('otherName value is not [0]', id.end);
          break;
        }
        default:
          // x400Address, directoryName, ediPartyName, registeredID: not logged by Zeek.
          if (gn.tag === 0xa1 || gn.tag === 0xa2 || gn.tag === 0xa6 || gn.tag === 0xa7) {
            warnings.push('SAN extension malformed: constructed string name');
          }
      }
    }
  } catch (e) {
    if (!(e instanceof X509Error)) throw e;
    warnings.push(`SAN extension malformed: ${e.reason}`);
  }
}

function parseBasicConstraints(b: Buffer, value: Tlv, out: ExtensionInfo, warnings: string[]): void {
  try {
    const seq = expectTlv(b, value.body, value.end, SEQUENCE, 'BasicConstraints');
    let isCa = false;
    let pathLen: number | null = null;
    let p = seq.body;
    if (p < seq.end) {
      const t = readTlv(b, p, seq.end);
      if (t.tag === BOOLEAN) {
        if (t.end - t.body !== 1) throw new X509Error('BOOLEAN of more than one byte', t.start);
        isCa = b[t.body] !== 0;
        p = t.end;
      }
    }
    if (p < seq.end) {
      const t = readTlv(b, p, seq.end);
      if (t.tag !== INTEGER) throw new X509Error('pathLenConstraint is not an INTEGER', t.start);
      pathLen = smallInt(b, t);
      if (pathLen === null || pathLen < 0 || pathLen > 0x7fffffff) {
        warnings.push('basic constraints path length out of range');
        pathLen = null;
      }
      p = t.end;
    }
    if (p < seq.end) throw new X509Error('extra data in BasicConstraints', p);
    out.is_ca = isCa;
    out.path_len = pathLen;
  } catch (e) {
    if (!(e instanceof X509Error)) throw e;
    warnings.push(`basic constraints malformed: ${e.reason}`);
  }
}

/**
 * An address as Zeek prints an `addr`: dotted IPv4; IPv6 compressed and lowercase (OpenBSD
 * inet_ntop, which Zeek carries as bro_inet_ntop), `::a.b.c.d` for IPv4-compatible addresses,
 * and plain IPv4 for IPv4-mapped ones (Zeek stores IPv4 as ::ffff:0:0/96).
 */
export function formatIp(b: Uint8Array, start: number, end: number): string {
  const v4 = (i: number) => `${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}`;
  if (end - start === 4) return v4(start);
  const words: number[] = [];
  for (let i = start; i < end; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return v4(start + 12);
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && bestLen === 6) return s + v4(start + 12);
    s += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) s += ':';
  return s;
}
