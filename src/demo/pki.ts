/**
 * The demo's certificates: real keys (keys.ts), real signatures, built with @peculiar/x509, and
 * byte-identical for the same seed and labels.
 *
 * Determinism rules, and why:
 * - Every key that signs (a CA, a self-signed certificate) is RSA: PKCS#1 v1.5 signatures are a
 *   function of key and message, while WebCrypto's ECDSA draws a fresh random k. Leaves under an
 *   RSA CA may have EC keys.
 * - We always give the serial: @peculiar/x509 draws a random one when it is missing or zero.
 * - Validity is given too (the library's default is "now"); times keep whole seconds only.
 * - @peculiar/x509 puts no other randomness in a certificate (2.2.0: serial only; key
 *   identifiers are SHA-1 of the key).
 *
 * DNs are written as Zeek prints them (X509_NAME_print_ex with XN_FLAG_RFC2253, see
 * src/x509/name.ts) and each certificate is read back with our parser to prove it prints exactly
 * that. We encode the Name ourselves through the library's JSON form, because its string parser
 * keeps the RDNs in written order (the reverse of RFC 4514, so "CN=x,C=US" would print
 * "C=US,CN=x"), picks string types by its own rule and does not read `\XX` escapes.
 */
import 'reflect-metadata'; // @peculiar/x509 (through tsyringe) needs a Reflect polyfill loaded first
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { parseCertificate } from '../x509/index.js';
import { OID_NAMES } from '../x509/oid-table.js';
import { type DemoKey, type Hash, type KeySpec, demoKey } from './keys.js';
import { Rng } from './rng.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type KeyUsageName = keyof typeof x509.KeyUsageFlags;

export interface CertSpec {
  /** Subject DN as Zeek prints it: "CN=host.example.com,O=Example\, Inc.,C=US" (leftmost = last RDN in the encoding, RFC 4514 order); "" for an empty subject. */
  subject: string;
  /** The issuing certificate (an RSA one); absent = self-signed (issuer = subject, signed by its own key, which must be RSA). */
  issuer?: Issued;
  /**
   * Serial as hex, as Zeek prints it (upper case, no sign byte; any case is taken), or omitted
   * for a random 16-byte one from the seed.
   */
  serial?: string;
  /** Whole seconds; UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280). */
  notBefore: Date;
  notAfter: Date;
  san?: { dns?: string[]; ip?: string[]; email?: string[] };
  key: KeySpec;
  /** Key from (seed, keyLabel) instead of (seed, label): one key in several certificates (renewals, reused C2 keys). */
  keyLabel?: string;
  /** Signature hash (with the issuer's key type); 'sha1' makes sha1WithRSAEncryption. Default sha256. */
  hash?: Hash;
  /** A CA certificate: basicConstraints CA:TRUE and keyCertSign; RSA key only. */
  ca?: { pathLength?: number };
  /**
   * 'standard' (default): keyUsage (not on self-signed leaves), EKU (leaves), basicConstraints,
   * subject and authority key identifiers, SAN. 'keyid': subject key identifier and SAN only, as Java keytool writes
   * (Cobalt Strike's default keystore). No "none": @peculiar/x509 would write an empty
   * extensions SEQUENCE, which RFC 5280 forbids.
   */
  extensions?: 'standard' | 'keyid';
  /** Overrides the keyUsage of 'standard' ([] leaves it out). */
  keyUsage?: KeyUsageName[];
  /** Overrides the EKU of 'standard' leaves (serverAuth, clientAuth): names or dotted OIDs ([] leaves it out). */
  eku?: string[];
}

export interface Issued {
  readonly label: string;
  readonly spec: CertSpec;
  readonly der: Uint8Array;
  /** As Zeek prints them: equal to spec.subject, and to the issuer's subject (or spec.subject). */
  readonly subject: string;
  readonly issuer: string;
  /** As our parser stores it (lower case, the silver convention), whatever the case in spec.serial. */
  readonly serial: string;
  /** The subject's key pair, private half included: what signs the certificates this one issues. */
  readonly key: DemoKey;
}

/** A spec that cannot be issued, or that would not come out as asked. */
export class PkiError extends Error {
  readonly label: string;
  constructor(label: string, reason: string) {
    super(`certificate ${JSON.stringify(label)}: ${reason}`);
    this.name = 'PkiError';
    this.label = label;
  }
}

export class Pki {
  readonly seed: string;
  private readonly labels = new Set<string>();

  constructor(seed: string | number) {
    this.seed = String(seed);
  }

  /** The certificate named `label`; labels are unique within a Pki (they seed the serial and key). */
  async issue(label: string, spec: CertSpec): Promise<Issued> {
    const fail = (reason: string) => new PkiError(label, reason);
    if (this.labels.has(label)) throw fail('label already issued');
    if (Number.isNaN(spec.notBefore.getTime()) || Number.isNaN(spec.notAfter.getTime())) throw fail('invalid validity date');
    if (spec.ca && spec.key.type !== 'rsa') throw fail('a CA key must be RSA (ECDSA signatures are not deterministic)');
    if (!spec.issuer && spec.key.type !== 'rsa') throw fail('a self-signed key must be RSA (ECDSA signatures are not deterministic)');
    if (spec.issuer && spec.issuer.key.spec.type !== 'rsa') throw fail('the issuer key must be RSA');
    const serial = (spec.serial ?? randomSerial(new Rng(this.seed, `serial/${label}`))).toLowerCase();
    // The library drops leading zero bytes and replaces a zero serial with a random one.
    if (!/^(?:[1-9a-f][0-9a-f]|0[1-9a-f])(?:[0-9a-f]{2})*$/.test(serial)) {
      throw fail(`serial ${JSON.stringify(spec.serial)}: want hex bytes as Zeek prints them (no leading 00, not zero)`);
    }
    this.labels.add(label);

    const key = await demoKey(this.seed, spec.keyLabel ?? label, spec.key);
    const signer = spec.issuer?.key ?? key;
    const subject = new x509.Name(nameJson(spec.subject, fail));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject,
      issuer: spec.issuer ? new x509.Name(nameJson(spec.issuer.subject, fail)) : subject,
      notBefore: spec.notBefore,
      notAfter: spec.notAfter,
      publicKey: key.spki,
      signingKey: await signer.signingKey(spec.hash ?? 'sha256'),
      extensions: await extensions(spec, key, signer, fail),
    });
    const der = new Uint8Array(cert.rawData);

    const seen = parseCertificate(der, { selfSigned: 'never', keepDer: false });
    if (seen.subject !== spec.subject) throw fail(`subject ${JSON.stringify(spec.subject)} prints as ${JSON.stringify(seen.subject)}`);
    if (seen.serial !== serial) throw fail(`serial ${serial} prints as ${seen.serial}`);
    return { label, spec, der, subject: spec.subject, issuer: seen.issuer ?? '', serial, key };
  }
}

/** 16 bytes with the top bit clear, as most CAs do to keep the INTEGER at 16 bytes. */
function randomSerial(rng: Rng): string {
  const b = rng.bytes(16);
  b[0] = b[0]! & 0x7f || 0x01;
  return Buffer.from(b).toString('hex');
}

async function extensions(spec: CertSpec, key: DemoKey, signer: DemoKey, fail: (r: string) => Error): Promise<x509.Extension[]> {
  const profile = spec.extensions ?? 'standard';
  const out: x509.Extension[] = [];
  const san = sanEntries(spec.san);
  if (profile === 'standard') {
    // A self-signed leaf gets none, as `openssl req -x509` writes it: a keyUsage without
    // keyCertSign would disown its own signature (OpenSSL's X509_check_issued then says no).
    const defaultUsage: KeyUsageName[] = spec.ca
      ? ['keyCertSign', 'cRLSign', 'digitalSignature']
      : !spec.issuer
        ? []
        : key.spec.type === 'rsa'
          ? ['digitalSignature', 'keyEncipherment']
          : ['digitalSignature'];
    const usage = spec.keyUsage ?? defaultUsage;
    if (usage.length > 0) out.push(new x509.KeyUsagesExtension(usage.reduce((f, u) => f | x509.KeyUsageFlags[u], 0), true));
    const eku = spec.eku ?? (spec.ca ? [] : ['serverAuth', 'clientAuth']);
    if (eku.length > 0) out.push(new x509.ExtendedKeyUsageExtension(eku.map((u) => ekuOid(u, fail))));
    out.push(new x509.BasicConstraintsExtension(spec.ca !== undefined, spec.ca?.pathLength, true));
  }
  out.push(await x509.SubjectKeyIdentifierExtension.create(key.spki));
  // A root names no authority key (ISRG Root X1, most browser roots); issued ones name their CA's.
  if (profile === 'standard' && spec.issuer) out.push(await x509.AuthorityKeyIdentifierExtension.create(signer.spki));
  // RFC 5280 4.2.1.6: the SAN is critical when the subject is empty.
  if (san.length > 0) out.push(new x509.SubjectAlternativeNameExtension(san, spec.subject === ''));
  return out;
}

function sanEntries(san: CertSpec['san']): x509.JsonGeneralName[] {
  return [
    ...(san?.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(san?.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(san?.email ?? []).map((value) => ({ type: 'email' as const, value })),
  ];
}

function ekuOid(name: string, fail: (r: string) => Error): string {
  if (/^\d+(?:\.\d+)+$/.test(name)) return name;
  const oid = (x509.ExtendedKeyUsage as Record<string, string>)[name];
  if (oid === undefined) throw fail(`unknown EKU ${JSON.stringify(name)}`);
  return oid;
}

// ---------------------------------------------------------------------------------------------
// Names

/** OpenSSL short name → dotted OID: the attribute types Zeek prints by name. */
const ATTRIBUTE_OIDS = new Map(OID_NAMES.map(([dotted, sn]) => [sn, dotted]));
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const IA5_TYPES = new Set(['1.2.840.113549.1.9.1', '0.9.2342.19200300.100.1.25']); // emailAddress, DC

type JsonValue = string | { printableString?: string; utf8String?: string; ia5String?: string };
type JsonRdn = Record<string, JsonValue[]>;

/**
 * A DN as Zeek prints it → @peculiar/x509's JSON name, RDNs and multi-valued RDN members in DER
 * order (both reversed from print order). String types as Java keytool picks them (Cobalt
 * Strike's certificates come from it): PrintableString when the value fits, so `C=Earth` is a
 * PrintableString as in the real thing, else UTF8String; IA5String for emailAddress and DC.
 * The JSON form groups an RDN's members by type, so one that interleaves types (OU=x+CN=a+OU=y)
 * comes out reordered and the read-back in issue() refuses it; members keep our order, not DER's
 * sorted SET OF order (OpenSSL reads either).
 */
function nameJson(dn: string, fail: (r: string) => Error): x509.JsonNameParams {
  const rdns: [string, JsonValue][][] = [[]];
  let i = 0;
  while (dn !== '' && i <= dn.length) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw fail(`DN ${JSON.stringify(dn)}: no "=" after position ${i}`);
    const type = dn.slice(i, eq);
    const oid = /^\d+(?:\.\d+)+$/.test(type) ? type : ATTRIBUTE_OIDS.get(type);
    if (oid === undefined) throw fail(`DN ${JSON.stringify(dn)}: unknown attribute type ${JSON.stringify(type)}`);
    i = eq + 1;
    let value: JsonValue;
    if (dn[i] === '#') {
      // Zeek's dump of a value it cannot print: the DER of the whole element, taken as is.
      const end = dn.slice(i).search(/[,+]|$/) + i;
      value = dn.slice(i, end);
      i = end;
    } else {
      const bytes: number[] = [];
      for (; i < dn.length && dn[i] !== ',' && dn[i] !== '+'; i++) {
        let c = dn.charCodeAt(i);
        if (c === 0x5c) {
          const hex = dn.slice(i + 1, i + 3);
          if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
            bytes.push(parseInt(hex, 16));
            i += 2;
            continue;
          }
          c = dn.charCodeAt(++i);
        }
        if (!(c >= 0x20 && c <= 0x7e)) throw fail(`DN ${JSON.stringify(dn)}: write bytes outside printable ASCII as \\XX escapes (UTF-8), as Zeek prints them`);
        bytes.push(c);
      }
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
      } catch {
        throw fail(`DN ${JSON.stringify(dn)}: escaped bytes are not UTF-8`);
      }
      value = IA5_TYPES.has(oid) && /^[\x00-\x7f]*$/.test(text) ? { ia5String: text } : PRINTABLE.test(text) ? { printableString: text } : { utf8String: text };
    }
    rdns[rdns.length - 1]!.push([oid, value]);
    if (i >= dn.length) break;
    if (dn[i] === ',') rdns.push([]);
    i++;
  }
  return rdns
    .filter((r) => r.length > 0)
    .reverse()
    .map((avas) => {
      const rdn: JsonRdn = {};
      for (const [oid, value] of avas.reverse()) (rdn[oid] ??= []).push(value);
      return rdn;
    }) as x509.JsonNameParams;
}
