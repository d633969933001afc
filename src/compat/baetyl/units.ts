/**
 * The value forms of Baetyl's configuration files (docs/compat/baetyl/import.md): Go duration strings
 * (`1m`, `10s`, `1h30m`, `500ms`) and Docker's memory sizes (`50m`, `1g`, `512k`, bytes as a number).
 * Each parser returns the value or a reason; the caller names the key.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const DURATION_PART = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;

/**
 * A Go `time.Duration` in milliseconds: `[-+]?(<decimal><unit>)+` with units ns, us/µs, ms, s, m, h, or
 * `0`. A YAML number is refused (Go would read it as nanoseconds, surely not what was meant), except 0.
 */
export function parseGoDuration(raw: unknown): Parsed<number> {
  if (raw === 0 || raw === '0') return { ok: true, value: 0 };
  if (typeof raw === 'number') {
    return { ok: false, reason: `${raw} has no unit: write a duration such as 30s, 10m or 1h30m` };
  }
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 64) {
    return { ok: false, reason: 'must be a duration such as 30s, 10m or 1h30m' };
  }
  let rest = raw;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return { ok: true, value: 0 };
  if (rest === '') return { ok: false, reason: `${JSON.stringify(raw)} is not a duration (such as 30s)` };
  let total = 0;
  while (rest !== '') {
    const m = DURATION_PART.exec(rest);
    const whole = m?.[1] ?? '';
    const fraction = m?.[2] ?? '';
    if (m === null || (whole === '' && fraction === '')) {
      return {
        ok: false,
        reason: `${JSON.stringify(raw)} is not a duration: use a number and a unit (ns, us, ms, s, m, h), e.g. 1h30m`,
      };
    }
    const unit = DURATION_UNITS[m[3] ?? ''] ?? 0;
    total += Number(`${whole === '' ? '0' : whole}.${fraction === '' ? '0' : fraction}`) * unit;
    rest = rest.slice(m[0].length);
  }
  if (!Number.isFinite(total) || total > 9_223_372_036.854) {
    return { ok: false, reason: `${JSON.stringify(raw)} is too long a duration` };
  }
  return { ok: true, value: sign * total };
}

const MEMORY = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i;
const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/**
 * A memory size in bytes as Docker reads it (what OpenEdge used): a number with an optional binary unit
 * `k`, `m`, `g`, `t`, `p` (any case, `b`/`ib` allowed after it): `50m` is 50 MiB; a bare number is bytes.
 */
export function parseMemory(raw: unknown): Parsed<number> {
  const text = typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
  if (typeof text !== 'string' || text.length > 32) {
    return { ok: false, reason: 'must be a memory size such as 50m or 1g' };
  }
  const m = MEMORY.exec(text.trim());
  if (m === null) {
    return {
      ok: false,
      reason: `${JSON.stringify(raw)} is not a memory size: use a number and a unit k, m, g (e.g. 50m, 1g)`,
    };
  }
  const unit = MEMORY_UNITS[(m[2] ?? '').toLowerCase()] ?? 1;
  return { ok: true, value: Math.floor(Number(m[1]) * unit) };
}
