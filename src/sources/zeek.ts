import { commonName, sameDn } from './dn.js';
import type { LineFormat } from './format.js';
import { emptyCertificate, type CertificateRecord, type SourceItem } from './record.js';
import { zeekContextLine, zeekHead, zeekRows, type ZeekFields, type ZeekRow } from './zeek-log.js';
import {
  FieldError, UNKNOWN_TS, derDigests, digestKind, emptyObservation, hexDigest, reject, type ReadSummary,
} from './values.js';

/**
 * Zeek's certificate logs: x509.log (certificates), ssl.log (sessions) and known_certs.log
 * (daily host/certificate sightings), each in TSV or JSON, current and pre-4.1 schemas.
 *
 * - Fingerprints: x509 `fingerprint` is SHA-256 unless `X509::hash_function` was changed; the
 *   record field is chosen by the digest's length (64 sha256, 40 sha1, 32 md5), and so is the
 *   leaf of ssl `cert_chain_fps`.
 * - Pre-4.1 (Zeek 3.x/4.0): x509 has a file id `id` and no fingerprint, ssl has
 *   `cert_chain_fuids` (→ chain_fuids) and the leaf's `subject`/`issuer`. Such certificates
 *   have no hash unless `cert` (log-certs-base64) gives the DER; the file id stays in `raw`.
 * - `cert` (log-certs-base64) is kept as base64 DER; its digests fill sha1/md5 (the SSL
 *   Blacklist is SHA-1) and are checked against `fingerprint`.
 */

type Mapper = (f: ZeekFields, row: ZeekRow) => SourceItem[];

function zeekFormat(name: string, path: string, detect: (fields: Set<string>) => boolean, map: Mapper): LineFormat {
  return {
    name,
    parallel: true,
    context: zeekContextLine,
    detect(head) {
      const h = zeekHead(head);
      if (!h) return false;
      return h.path !== null ? h.path.startsWith(path) : detect(h.fields);
    },
    async *read(lines) {
      const summary: ReadSummary = { skipped: {} };
      for await (const r of zeekRows(lines)) {
        if (r.kind !== 'row') {
          yield r;
          continue;
        }
        // A stream holding other logs too (shippers merge them): keep ours, count the rest.
        if (r.path !== null && !r.path.startsWith(path)) {
          summary.skipped[r.path] = (summary.skipped[r.path] ?? 0) + 1;
          continue;
        }
        let items: SourceItem[];
        try {
          items = map(r.fields, r);
        } catch (e) {
          items = [reject(r.pos, e instanceof FieldError ? e.message : `unreadable record: ${(e as Error).message}`, r.text)];
        }
        yield* items;
      }
      return summary;
    },
  };
}

/** Fields both x509 and known_certs give: serial, subject, issuer and what follows from them. */
function names(cert: CertificateRecord, serial: string | null, subject: string | null, issuer: string | null): void {
  cert.serial = serial === null ? null : serial.toLowerCase();
  cert.subject = subject;
  cert.issuer = issuer;
  cert.common_name = commonName(subject);
  // RFC 5280 §7.1 on the text (case and white space do not count), as src/x509 decides on DER.
  cert.self_issued = subject !== null && issuer !== null ? sameDn(subject, issuer) : null;
}

function digest(field: string, text: string): string {
  const hex = hexDigest(text);
  if (hex === null) throw new FieldError(field, `not an MD5/SHA-1/SHA-256 hex digest: ${JSON.stringify(text.slice(0, 80))}`);
  return hex;
}

function x509(f: ZeekFields, row: ZeekRow): SourceItem[] {
  const cert = emptyCertificate();
  cert.ts = f.time('ts');
  const fp = f.str('fingerprint');
  if (fp) {
    const hex = digest('fingerprint', fp);
    cert[digestKind(hex) as 'sha256' | 'sha1' | 'md5'] = hex;
  }
  const b64 = f.str('cert');
  if (b64 !== null && b64 !== '') {
    const d = derDigests(b64);
    if (d === null) cert.parse_warnings.push('cert: not base64, DER dropped');
    else {
      cert.der = b64.replace(/\s+/g, '');
      for (const k of ['sha256', 'sha1', 'md5'] as const) {
        if (cert[k] !== null && cert[k] !== d[k]) cert.parse_warnings.push(`fingerprint is not the ${k} of cert`);
        else cert[k] = d[k];
      }
    }
  }
  names(cert, f.str('certificate.serial'), f.str('certificate.subject'), f.str('certificate.issuer'));
  cert.version = f.count('certificate.version');
  cert.not_valid_before = f.time('certificate.not_valid_before');
  cert.not_valid_after = f.time('certificate.not_valid_after');
  cert.key_alg = f.str('certificate.key_alg');
  cert.sig_alg = f.str('certificate.sig_alg');
  cert.key_type = f.str('certificate.key_type');
  cert.key_length = f.count('certificate.key_length');
  cert.exponent = f.str('certificate.exponent');
  cert.curve = f.str('certificate.curve');
  cert.subject_alternative_names = f.list('san.dns') ?? [];
  cert.san_uri = f.list('san.uri') ?? [];
  cert.san_email = f.list('san.email') ?? [];
  cert.san_ip = f.list('san.ip') ?? [];
  cert.is_ca = f.bool('basic_constraints.ca');
  cert.path_len = f.count('basic_constraints.path_len');
  cert.host_cert = f.bool('host_cert');
  cert.client_cert = f.bool('client_cert');
  return [{ kind: 'certificate', pos: row.pos, cert, raw: row.raw }];
}

/** ts is required on observations; a btest-masked one reads as unknown. */
function observationTs(f: ZeekFields): number | null {
  // A present but masked time (btest baselines) is unknown; an absent one is an error.
  if (f.str('ts') === null) throw new FieldError('ts', 'missing');
  const ts = f.time('ts') ?? UNKNOWN_TS;
  return ts;
}

function ssl(f: ZeekFields, row: ZeekRow): SourceItem[] {
  const obs = emptyObservation(observationTs(f));
  obs.uid = f.str('uid');
  obs.src_ip = f.str('id.orig_h');
  obs.src_port = f.count('id.orig_p');
  obs.dest_ip = f.str('id.resp_h');
  obs.dest_port = f.count('id.resp_p');
  obs.tls_version = f.str('version');
  obs.cipher = f.str('cipher');
  obs.server_name = f.str('server_name');
  obs.established = f.bool('established');
  obs.validation_status = f.str('validation_status');
  obs.ja3 = f.str('ja3');
  obs.ja3s = f.str('ja3s');
  obs.ja4 = f.str('ja4');
  const chain = (f.list('cert_chain_fps') ?? []).map((fp) => digest('cert_chain_fps', fp));
  const leaf = chain[0];
  if (leaf !== undefined && digestKind(leaf) === 'sha1') obs.cert_sha1 = leaf;
  else if (leaf !== undefined) {
    obs.cert_sha256 = digestKind(leaf) === 'sha256' ? leaf : null;
    obs.chain_sha256 = chain.filter((fp) => digestKind(fp) === 'sha256');
  }
  obs.chain_fuids = f.list('cert_chain_fuids') ?? [];
  obs.subject = f.str('subject');
  obs.issuer = f.str('issuer');
  return [{ kind: 'observation', pos: row.pos, obs, raw: row.raw }];
}

/**
 * known_certs.log names a certificate by subject, issuer and serial, without a hash. A row
 * gives an observation (host:port served it; subject/issuer on the observation) and a
 * certificate with no sha256 (issuer + serial identify it, per RFC 5280), both at the same
 * pos so the pipeline can pair them and resolve the hash from x509.log.
 */
function knownCerts(f: ZeekFields, row: ZeekRow): SourceItem[] {
  const obs = emptyObservation(observationTs(f));
  obs.dest_ip = f.str('host');
  obs.dest_port = f.count('port_num');
  obs.subject = f.str('subject');
  obs.issuer = f.str('issuer_subject');
  const cert = emptyCertificate();
  cert.ts = f.time('ts');
  names(cert, f.str('serial'), obs.subject, obs.issuer);
  cert.host_cert = true;
  return [
    { kind: 'observation', pos: row.pos, obs, raw: row.raw },
    { kind: 'certificate', pos: row.pos, cert, raw: row.raw },
  ];
}

export const zeekX509 = zeekFormat('zeek_x509', 'x509', (s) => s.has('certificate.serial') || s.has('certificate.subject'), x509);
export const zeekSsl = zeekFormat(
  'zeek_ssl', 'ssl',
  (s) => s.has('cert_chain_fps') || s.has('cert_chain_fuids') || (s.has('uid') && s.has('version') && s.has('cipher')),
  ssl,
);
export const zeekKnownCerts = zeekFormat('zeek_known_certs', 'known_certs', (s) => s.has('issuer_subject') && s.has('port_num'), knownCerts);

export const zeekFormats: readonly LineFormat[] = [zeekX509, zeekSsl, zeekKnownCerts];
