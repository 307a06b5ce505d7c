/**
 * Readers for what node:crypto and the openssl CLI print, so that their view of a certificate can
 * be compared with ours without hard-coding either side's escaping.
 */
import { spawnSync } from 'node:child_process';

/** Bytes of an OpenSSL-escaped value: `\XX` hex is a byte, `\c` is c, other characters are UTF-8. */
export function unescapeValue(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      const h = s.slice(i + 1, i + 3);
      if (/^[0-9A-F]{2}$/.test(h)) {
        out.push(parseInt(h, 16));
        i += 2;
      } else {
        out.push(...Buffer.from(s[i + 1]!, 'utf8'));
        i += 1;
      }
    } else {
      out.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(out);
}

/** Splits at separator characters that are not backslash-escaped. */
function splitUnescaped(s: string, seps: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (seps.includes(c)) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

/** Content octets of a `#hex` DER dump (a single TLV with a short or long length). */
function dumpContent(hexText: string): Buffer {
  const b = Buffer.from(hexText, 'hex');
  let p = 1;
  if ((b[0]! & 0x1f) === 0x1f) while (b[p++]! & 0x80);
  let len = b[p++]!;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p++]!;
  }
  return b.subarray(p, p + len);
}

/** `type=hexbytes` strings, sorted: a name as a multiset of attributes. */
function attrSet(pairs: [string, Buffer][]): string[] {
  return pairs.map(([k, v]) => `${k}=${v.toString('hex')}`).sort();
}

/** Our RFC 2253 subject/issuer as attributes; `#` dumps (unknown types) reduced to their content. */
export function ourAttributes(rfc2253: string): string[] {
  if (rfc2253 === '') return [];
  return attrSet(
    splitUnescaped(rfc2253, ',+').map((ava) => {
      const eq = ava.indexOf('=');
      const value = ava.slice(eq + 1);
      return [ava.slice(0, eq), value.startsWith('#') ? dumpContent(value.slice(1)) : unescapeValue(value)];
    }),
  );
}

/** node:crypto's X509Certificate.subject (`C=US\nO=...`, DER order, ` + ` in multi-valued RDNs). */
export function nodeAttributes(multiline: string | undefined): string[] {
  if (!multiline) return [];
  return attrSet(
    multiline
      .split('\n')
      .flatMap((line) => line.split(' + '))
      .map((ava) => {
        const eq = ava.indexOf('=');
        return [ava.slice(0, eq), unescapeValue(ava.slice(eq + 1))];
      }),
  );
}

/** node:crypto's subjectAltName (`DNS:a, IP Address:1.2.3.4, DNS:"\u0000x"`) as [kind, value] pairs. */
export function nodeSan(text: string | undefined): [string, string][] {
  const out: [string, string][] = [];
  if (!text) return out;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    const kind = text.slice(i, colon);
    let j = colon + 1;
    let value: string;
    if (text[j] === '"') {
      let k = j + 1;
      while (text[k] !== '"') k += text[k] === '\\' ? 2 : 1;
      value = JSON.parse(text.slice(j, k + 1)) as string;
      j = k + 1;
    } else {
      const end = text.indexOf(', ', j);
      value = text.slice(j, end === -1 ? text.length : end);
      j = end === -1 ? text.length : end;
    }
    out.push([kind, value]);
    i = j + 2;
  }
  return out;
}

/** Node shows SAN strings byte for byte (Latin-1); our reading is UTF-8 with replacement. */
export function asOurText(nodeValue: string): string {
  return Buffer.from(nodeValue, 'latin1').toString('utf8');
}

/** The 16 (or 4) bytes of an IPv4 or IPv6 text address, as hex. */
export function ipHex(text: string): string {
  if (!text.includes(':')) return Buffer.from(text.split('.').map(Number)).toString('hex');
  let t = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    t = t.slice(0, v4.index) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const words = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  return words.map((w) => parseInt(w, 16).toString(16).padStart(4, '0')).join('');
}

/** node:crypto's validFrom/validTo (`Mar 21 09:25:52 2011 GMT`) as epoch ms; null for `Bad time value`. */
export function nodeTime(s: string): number | null {
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

/** A serial in any of the hex spellings (ours lowercase, Node's BN_bn2hex, OpenSSL's i2a) as a BigInt. */
export function serialValue(s: string): bigint {
  return s.startsWith('-') ? -BigInt('0x' + s.slice(1)) : BigInt('0x' + s);
}

export const hasOpenssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

/** What OpenSSL prints as Zeek asks it: the names (X509_NAME_print_ex, XN_FLAG_RFC2253), the
 * serial (i2a_ASN1_INTEGER), and from `-text` the algorithm names (i2a_ASN1_OBJECT), exponent
 * and curve. Null when OpenSSL cannot read the certificate. */
export interface OpensslView {
  subject: string;
  issuer: string;
  serial: string;
  sigAlg: string | null;
  keyAlg: string | null;
  exponent: string | null;
  curve: string | null;
}

export function opensslView(der: Uint8Array): OpensslView | null {
  const r = spawnSync('openssl', ['x509', '-inform', 'DER', '-noout', '-subject', '-issuer', '-serial', '-text', '-nameopt', 'RFC2253'], {
    input: der,
    encoding: 'latin1',
  });
  if (r.status !== 0) return null;
  const get = (k: string) => {
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${k}=`));
    return line === undefined ? '' : line.slice(k.length + 1);
  };
  const last = (re: RegExp) => [...r.stdout.matchAll(re)].at(-1)?.[1] ?? null;
  return {
    subject: get('subject'),
    issuer: get('issuer'),
    serial: get('serial'),
    // The outer algorithm is printed last, after the extensions.
    sigAlg: last(/Signature Algorithm: (\S+)/g),
    keyAlg: last(/Public Key Algorithm: (\S+)/g),
    exponent: last(/Exponent: (-?\d+)/g),
    curve: last(/ASN1 OID: (\S+)/g),
  };
}
