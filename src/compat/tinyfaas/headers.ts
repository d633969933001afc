/**
 * tinyFaaS header rules (docs/compat/tinyfaas-flavors.md): names lose the characters
 * `:()<>@,;"/[]?={}`, space and tab, are canonicalised (`user-agent` → `User-Agent`), and only the
 * first value of each name is kept. Node functions see the names lower case instead.
 */

const STRIPPED = /[:()<>@,;"/[\]?={} \t]/g;

/** A header name as tinyFaaS passes it to python3 and go functions: stripped, then canonical. */
export function canonicalHeaderName(name: string): string {
  const stripped = name.replace(STRIPPED, '').toLowerCase();
  return stripped.replace(/(^|-)([a-z])/g, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

/**
 * Header pairs → one object, first value per name; `lower` gives the Node flavor's lower-case keys.
 * Names that are empty once stripped are left out.
 */
export function tinyfaasHeaders(
  pairs: readonly (readonly [string, string])[],
  style: 'canonical' | 'lower',
): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of pairs) {
    const canonical = canonicalHeaderName(name);
    if (canonical === '') continue;
    const key = style === 'lower' ? canonical.toLowerCase() : canonical;
    if (!(key in out)) out[key] = value;
  }
  return out;
}
