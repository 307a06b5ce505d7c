/**
 * Distinguished names as text. The silver spelling is Zeek's (OpenSSL XN_FLAG_RFC2253): most
 * specific RDN first, `,` between RDNs, `+` inside one, specials escaped with `\`
 * (`CN=x,O=VMware\, Inc,C=US`). Suricata and OpenSSL's one-line form go the other way with
 * `, ` between RDNs and nothing escaped (`C=US, O=VMware, Inc, CN=x`).
 */

/** RDN attributes of an RFC 4514 string: [type, value] with the value unescaped. */
export function dnAttributes(dn: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < dn.length) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) break;
    const type = dn.slice(i, eq).trim();
    let j = eq + 1;
    let plain = true;
    for (; j < dn.length && dn[j] !== ',' && dn[j] !== '+'; j++) {
      if (dn[j] === '\\') {
        plain = false;
        j++;
      }
    }
    // Most values have no escapes: slice them; decode byte escapes (\xx) only where present.
    out.push([type, plain ? dn.slice(eq + 1, j) : unescapeValue(dn.slice(eq + 1, j))]);
    i = j + 1;
  }
  return out;
}

function unescapeValue(v: string): string {
  const bytes: number[] = [];
  for (let j = 0; j < v.length; j++) {
    const c = v[j] as string;
    if (c === '\\' && j + 1 < v.length) {
      const hex = v.slice(j + 1, j + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        j += 2;
      } else bytes.push(...Buffer.from(v[++j] as string));
    } else bytes.push(...Buffer.from(c));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The first CN (the most specific in RFC 4514 order), unescaped; null when there is none. */
export function commonName(dn: string | null): string | null {
  if (!dn) return null;
  const cn = dnAttributes(dn).find(([t]) => t.toUpperCase() === 'CN' || t === '2.5.4.3');
  return cn ? cn[1] : null;
}

/** RFC 4514 escaping of one attribute value, as OpenSSL's ESC_2253 does it. */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

// An attribute type: a short name (CN, emailAddress, 1.2.840...) followed by `=`.
const NEXT_ATTR = String.raw`(?=\s*(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)=)`;
const RDN_SEP = new RegExp(String.raw`,\s+${NEXT_ATTR}`);
const MULTI_SEP = new RegExp(String.raw`\s+\+\s+${NEXT_ATTR}`);

/**
 * `C=US, O=VMware, Inc, CN=x` → `CN=x,O=VMware\, Inc,C=US`. A `, ` splits only before
 * another `type=`, which is how a comma inside a value (unescaped by Suricata) survives.
 */
export function dnFromOneLine(dn: string): string {
  return dn
    .split(RDN_SEP)
    .reverse()
    .map((rdn) =>
      rdn
        .split(MULTI_SEP)
        .map((attr) => {
          const eq = attr.indexOf('=');
          return eq < 0 ? escapeDnValue(attr.trim()) : `${attr.slice(0, eq).trim()}=${escapeDnValue(attr.slice(eq + 1).trim())}`;
        })
        .join('+'),
    )
    .join(',');
}

/** True when a DN is in the one-line `a=b, c=d` spelling rather than RFC 4514. */
export function isOneLineDn(dn: string): boolean {
  return RDN_SEP.test(dn) && !/(^|[^\\]),(?!\s)/.test(dn);
}

/** RDNs of an RFC 4514 string, each a list of [TYPE, raw escaped value]; `,` and `+` split where unescaped. */
function rdnsOf(dn: string): [string, string][][] {
  const rdns: [string, string][][] = [[]];
  let i = 0;
  while (i < dn.length) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) break;
    let j = eq + 1;
    for (; j < dn.length && dn[j] !== ',' && dn[j] !== '+'; j++) if (dn[j] === '\\') j++;
    rdns[rdns.length - 1]!.push([dn.slice(i, eq).trim().toUpperCase(), dn.slice(eq + 1, j)]);
    if (dn[j] === ',') rdns.push([]);
    i = j + 1;
  }
  return rdns;
}

/**
 * A value in OpenSSL's canonical form for name comparison (crypto/x509/x_name.c
 * asn1_string_canon): white space trimmed and inner runs made one space, ASCII lowercased. A
 * `#`-hex dump (a value that is not a string, as OpenSSL prints it) stays as it is.
 */
function canonValue(raw: string): string {
  if (raw.startsWith('#')) return raw.toUpperCase();
  const ws = /[ \t\n\v\f\r]+/g;
  // Unescaping only where there is something to undo (a backslash, or UTF-16 surrogates, which
  // its byte round trip turns into U+FFFD when lone): every x509.log line compares two names,
  // and the round trip was 3% of an ingest's main thread (bench/ingest.ts, cpu profile).
  const text = /[\\\ud800-\udfff]/.test(raw) ? unescapeValue(raw) : raw;
  return text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '').replace(ws, ' ').replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/**
 * Whether two RFC 4514 names are the same name under RFC 5280 §7.1, which is what makes a
 * certificate self-issued (§6.1): values compared after LDAP StringPrep's case folding and
 * white-space handling (as OpenSSL's X509_NAME_cmp does, ASCII only), the values of a
 * multi-valued RDN in any order. The string type a value had in DER is not in the text, and
 * does not matter to the comparison either (src/x509/name.ts namesMatch is the same rule on DER),
 * so logs without the DER decide like the DER does.
 */
export function sameDn(a: string, b: string): boolean {
  if (a === b) return true;
  const ra = rdnsOf(a);
  const rb = rdnsOf(b);
  if (ra.length !== rb.length) return false;
  const key = (rdn: [string, string][]) => rdn.map(([t, v]) => `${t}=${canonValue(v)}`).sort().join('\0');
  return ra.every((rdn, i) => key(rdn) === key(rb[i]!));
}
