/**
 * What every exporter takes: one gold `findings` row (../shared/DESIGN.md, "Contracts") joined
 * with the certificate it names and the addresses that served it. Exporters are pure functions
 * from these records to text; they read no table and touch no file.
 *
 * Every string here may come from a certificate or a log an attacker wrote (subject, CN, SANs,
 * evidence): each format escapes or drops what would break it.
 */
import type { Severity } from '../hunts/hunt.js';

export type { Severity };

export interface ExportCertificate {
  sha256: string;
  sha1: string | null;
  md5: string | null;
  serial: string | null;
  subject: string | null;
  issuer: string | null;
  common_name: string | null;
  subject_alternative_names: string[];
  not_valid_before: string | null;
  not_valid_after: string | null;
}

export interface ExportFinding {
  /** e.g. 'default-c2-certificate' */
  hunt_id: string;
  /** The hunt's title. */
  title: string;
  description?: string;
  /** MITRE ATT&CK technique ids, e.g. ['T1573.002', 'T1587.003']. */
  attack: string[];
  severity: Severity;
  /** 0..100 */
  score: number;
  entity_type: 'certificate' | 'ip' | 'ja3' | 'domain' | 'issuer' | string;
  /** SHA-256 hex (or silver's `sha1:<hex>` / `issuer-serial:...` cert_id) for certificates, IP text, JA3 MD5, domain. */
  entity: string;
  /** ISO-8601 UTC */
  first_seen: string | null;
  last_seen: string | null;
  run_id: string;
  evidence: Record<string, unknown>;
  /** Present when entity_type is 'certificate' (or the finding names one). */
  certificate?: ExportCertificate;
  /** Destination IPs seen serving it (for certificates); may be empty. */
  ips?: string[];
}

export interface ExportOptions {
  /** Injected clock: the time used where a finding has no first_seen. */
  now: Date;
  /** Name of the producing tool or organisation; default 'certhunt'. */
  producer?: string;
}

/** A finding a format could not express, and why (e.g. a certificate without SHA-1 for Zeek). */
export interface SkippedFinding {
  hunt_id: string;
  entity_type: string;
  entity: string;
  reason: string;
}

/** Export text plus what was left out, for the CLI to report. */
export interface ExportResult {
  text: string;
  /** Indicators (STIX indicators, intel rows, rules, table rows) written. */
  exported: number;
  skipped: SkippedFinding[];
}
