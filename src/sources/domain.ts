import { getDomain } from 'tldts';

/**
 * The registered domain of a host name through the Public Suffix List (tldts), private
 * suffixes included: `evil.duckdns.org` is its own registered domain, not a subdomain of the
 * popular `duckdns.org`, which is exactly the distinction a popularity check must not blur.
 * Wildcards lose their `*.`; IP addresses and names without a known suffix give null.
 */
export function registeredDomain(name: string | null | undefined): string | null {
  if (!name) return null;
  const host = name.trim().toLowerCase().replace(/^\*\./, '').replace(/\.$/, '');
  if (!host) return null;
  return getDomain(host, { allowPrivateDomains: true }) ?? null;
}
