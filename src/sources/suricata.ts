import { commonName, dnFromOneLine, sameDn } from './dn.js';
import type { LineFormat } from './format.js';
import { headObject } from './json-head.js';
import { emptyCertificate, type CertificateRecord, type SourceItem } from './record.js';
import {
  FieldError, contentLines, derDigests, emptyObservation, hexDigest, intValue, lineOf, parseObject, reject, serialHex,
  timeValue, type ReadSummary,
} from './values.js';

/**
 * Suricata eve.json, `event_type: "tls"` events (docs: userguide output/eve/eve-json-format,
 * "Event type: TLS"). Other event types are skipped and counted in the ReadSummary; lines that
 * are not JSON objects are rejected. Per TLS event: one observation, plus a certificate when a
 * fingerprint or the certificate itself was logged, plus one per further `chain` entry.
 *
 * Suricata spells DNs the other way round from Zeek (`C=US, O=..., CN=...`, unescaped);
 * they are turned into Zeek's RFC 4514 order and the original kept in subject_original.
 * `serial` keeps the DER sign byte (`00:E1:...`) that Zeek drops; `fingerprint` is the colon
 * SHA-1 of the DER; `notbefore`/`notafter` have no zone and are UTC.
 */

type Obj = Record<string, unknown>;

const str = (o: Obj, k: string): string | null => {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new FieldError(`tls.${k}`, `not a string: ${JSON.stringify(v).slice(0, 60)}`);
  return v;
};

/** `ja3`/`ja3s` are `{hash, string}`; `ja4` is a string (Suricata 7+), accepted as `{hash}` too. */
const fingerprint = (o: Obj, k: string): string | null => {
  const v = o[k];
  if (v && typeof v === 'object' && !Array.isArray(v)) return str(v as Obj, 'hash');
  return str(o, k);
};

/** Suricata's version names (`TLS 1.2`) in Zeek's spelling (`TLSv12`), so hunts see one. */
export function tlsVersion(v: string | null): string | null {
  if (v === null) return null;
  const m = /^(D?TLS) ?v?1\.(\d)$/i.exec(v.trim());
  return m ? `${(m[1] as string).toUpperCase()}v1${m[2]}` : v;
}

/** flow_id is a 64-bit integer: read its digits from the text, JSON numbers lose precision past 2^53. */
function flowId(text: string, event: Obj): string | null {
  const m = /"flow_id"\s*:\s*(\d+)/.exec(text);
  return m ? (m[1] as string) : typeof event.flow_id === 'number' || typeof event.flow_id === 'string' ? String(event.flow_id) : null;
}

function certificate(tls: Obj, ts: number, b64: string | null): CertificateRecord {
  const cert = emptyCertificate();
  cert.ts = ts;
  const fp = str(tls, 'fingerprint');
  if (fp !== null) {
    cert.sha1 = hexDigest(fp);
    if (cert.sha1 === null || cert.sha1.length !== 40) throw new FieldError('tls.fingerprint', `not a SHA-1: ${JSON.stringify(fp.slice(0, 80))}`);
  }
  if (b64 !== null) addDer(cert, b64, 'tls.certificate');
  const serial = str(tls, 'serial');
  cert.serial = serial === null ? null : serialHex(serial) ?? serial.toLowerCase();
  cert.subject_original = str(tls, 'subject');
  cert.issuer_original = str(tls, 'issuerdn') ?? str(tls, 'issuer');
  cert.subject = cert.subject_original === null ? null : dnFromOneLine(cert.subject_original);
  cert.issuer = cert.issuer_original === null ? null : dnFromOneLine(cert.issuer_original);
  cert.common_name = commonName(cert.subject);
  cert.self_issued = cert.subject !== null && cert.issuer !== null ? sameDn(cert.subject, cert.issuer) : null;
  cert.not_valid_before = timeValue('tls.notbefore', tls.notbefore ?? tls.not_before);
  cert.not_valid_after = timeValue('tls.notafter', tls.notafter ?? tls.not_after);
  return cert;
}

function addDer(cert: CertificateRecord, b64: string, field: string): void {
  const d = derDigests(b64);
  if (d === null) {
    cert.parse_warnings.push(`${field}: not base64, DER dropped`);
    return;
  }
  if (cert.sha1 !== null && cert.sha1 !== d.sha1) cert.parse_warnings.push('tls.fingerprint is not the SHA-1 of tls.certificate');
  cert.der = b64.replace(/\s+/g, '');
  cert.sha256 = d.sha256;
  cert.sha1 ??= d.sha1;
  cert.md5 = d.md5;
}

function tlsEvent(event: Obj, text: string, pos: number): SourceItem[] {
  const ts = timeValue('timestamp', event.timestamp);
  if (ts === null) throw new FieldError('timestamp', 'missing');
  const tls = event.tls;
  if (!tls || typeof tls !== 'object' || Array.isArray(tls)) throw new FieldError('tls', 'missing or not an object');
  const t = tls as Obj;
  const obs = emptyObservation(ts);
  obs.uid = flowId(text, event);
  obs.src_ip = typeof event.src_ip === 'string' ? event.src_ip : null;
  obs.src_port = intValue('src_port', event.src_port);
  obs.dest_ip = typeof event.dest_ip === 'string' ? event.dest_ip : null;
  obs.dest_port = intValue('dest_port', event.dest_port);
  obs.server_name = str(t, 'sni');
  obs.tls_version = tlsVersion(str(t, 'version'));
  obs.ja3 = fingerprint(t, 'ja3');
  obs.ja3s = fingerprint(t, 'ja3s');
  obs.ja4 = fingerprint(t, 'ja4');

  const chain = t.chain === undefined || t.chain === null ? [] : t.chain;
  if (!Array.isArray(chain) || !chain.every((c) => typeof c === 'string')) throw new FieldError('tls.chain', 'not a list of base64 strings');
  const leafDer = str(t, 'certificate') ?? (chain[0] as string | undefined) ?? null;
  const items: SourceItem[] = [];
  if (leafDer !== null || t.fingerprint !== undefined || t.subject !== undefined) {
    const cert = certificate(t, ts, leafDer);
    obs.cert_sha1 = cert.sha1;
    obs.cert_sha256 = cert.sha256;
    obs.subject = cert.subject;
    obs.issuer = cert.issuer;
    if (cert.sha1 !== null || cert.der !== null) items.push({ kind: 'certificate', pos, cert, raw: event });
  }
  for (const [i, b64] of (chain as string[]).entries()) {
    const c = emptyCertificate();
    c.ts = ts;
    addDer(c, b64, `tls.chain[${i}]`);
    if (c.sha256 !== null) obs.chain_sha256.push(c.sha256);
    if (b64 !== leafDer) items.push({ kind: 'certificate', pos, cert: c, raw: event });
  }
  return [{ kind: 'observation', pos, obs, raw: event }, ...items];
}

export const suricataTls: LineFormat = {
  name: 'suricata_tls',
  // One event per line, nothing carried from one to the next.
  parallel: true,
  detect(head) {
    return contentLines(head).some((l) => {
      const o = l.trimStart().startsWith('{') ? headObject(l) : null;
      return o !== null && typeof o.event_type === 'string' && ('timestamp' in o || 'flow_id' in o);
    });
  },
  async *read(lines) {
    const summary: ReadSummary = { skipped: {} };
    for await (const item of lines) {
      const line = lineOf(item);
      if ('rejected' in line) {
        yield line.rejected;
        continue;
      }
      const { text } = line;
      if (text.trim() === '') continue;
      const event = parseObject(text);
      if (typeof event === 'string') {
        yield reject(item.pos, event, text);
        continue;
      }
      if (event.event_type !== 'tls') {
        const kind = typeof event.event_type === 'string' ? event.event_type : '(no event_type)';
        summary.skipped[kind] = (summary.skipped[kind] ?? 0) + 1;
        continue;
      }
      try {
        yield* tlsEvent(event, text, item.pos);
      } catch (e) {
        yield reject(item.pos, e instanceof FieldError ? e.message : `unreadable record: ${(e as Error).message}`, text);
      }
    }
    return summary;
  },
};
