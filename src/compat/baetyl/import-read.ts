/**
 * Reading Baetyl's YAML: the text parsed with the `yaml` package within bounds, and small readers that
 * check one key each and refuse with a message naming the file and the key
 * (`service.yml: functions[0].instance.max: 0 is out of range 1–100`).
 */
import { isNode, isScalar, parseDocument, visit, type Document } from 'yaml';
import { SkiffError } from '../../shared/errors.js';

/** The largest configuration file read (bytes of text). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export type Doc = Record<string, unknown>;

/** Linux passes one `NAME=value` of at most 128 KiB to a process (MAX_ARG_STRLEN)... */
const MAX_ENV_ENTRY_BYTES = 128 * 1024 - 1;
/** ...and a function's variables together stay well below the argument space (2 MiB with argv). */
const MAX_ENV_BYTES = 1024 * 1024;

/** A value for a message: a scalar's text (cut), else its kind: an aliased list can be huge. */
function shownValue(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return JSON.stringify(typeof value === 'string' ? value.slice(0, 80) : value);
  }
  return value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
}

/** A refusal of the import: 400 SKIFF_E_INVALID_SPEC, naming the file and the key. */
export function refuse(file: string, where: string, problem: string): never {
  throw new SkiffError('SKIFF_E_INVALID_SPEC', `${file}: ${where === '' ? '' : `${where}: `}${problem}`);
}

/**
 * The first key given twice in a mapping, with its line, or undefined. The `yaml` package's own check
 * (`uniqueKeys`) compares every key with every other: 60 000 keys (700 KB) held the event loop for
 * half a minute. Here each mapping's keys go through a Set. Merge keys (`<<`) may repeat, as there.
 */
function duplicateKey(doc: Document, text: string): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key: unknown = pair.key;
        const id = isScalar(key)
          ? `${typeof key.value}:${String(key.value)}`
          : `node:${JSON.stringify((key as { toJSON?: () => unknown } | null)?.toJSON?.() ?? key)}`;
        // a merge key (its value is a symbol when merge keys are on)
        if (id === 'string:<<' || (isScalar(key) && typeof key.value === 'symbol')) continue;
        if (seen.has(id)) {
          const offset = isNode(key) ? (key.range?.[0] ?? 0) : 0;
          const line = text.slice(0, offset).split('\n').length;
          found = `Map keys must be unique: ${JSON.stringify(String(isScalar(key) ? key.value : 'a complex key').slice(0, 80))} at line ${line}`;
          return visit.BREAK;
        }
        seen.add(id);
      }
      return undefined;
    },
  });
  return found;
}

/** Parses one YAML document (aliases bounded, `<<` merge keys as Go's reader takes them, duplicate keys refused) into a mapping. */
export function parseYamlFile(file: string, text: string): Doc {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    refuse(file, '', `the file is larger than ${MAX_CONFIG_BYTES} bytes`);
  }
  let value: unknown;
  let problem: string | undefined;
  try {
    const doc = parseDocument(text, {
      uniqueKeys: false, // checked below, in linear time
      merge: true,
      prettyErrors: true,
      // an unknown tag (!!js/function) is read as plain text; its warning is not printed on the platform's stderr
      logLevel: 'error',
    });
    const [first] = doc.errors;
    problem = first !== undefined ? first.message : duplicateKey(doc, text);
    if (problem === undefined) value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    problem = (err as Error).message;
  }
  if (problem !== undefined) refuse(file, '', `not valid YAML: ${problem.split('\n')[0] ?? ''}`);
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) refuse(file, '', 'must be a mapping of keys');
  return value as Doc;
}

/** Readers of one file's keys. */
export class Reader {
  constructor(readonly file: string) {}

  fail(where: string, problem: string): never {
    return refuse(this.file, where, problem);
  }

  /** A mapping, or {} when the key is absent or null. */
  map(value: unknown, where: string): Doc {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) this.fail(where, 'must be a mapping');
    return value as Doc;
  }

  /** A list of mappings, or [] when absent. */
  list(value: unknown, where: string): Doc[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(where, 'must be a list');
    return value.map((item, i) => this.map(item, `${where}[${i}]`));
  }

  /** A string (a YAML number or boolean is taken as its text, as Go's YAML reader does); '' when absent. */
  text(value: unknown, where: string): string {
    if (value === undefined || value === null) return '';
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return this.fail(where, 'must be a string');
  }

  /** A required, non-empty string. */
  required(value: unknown, where: string): string {
    const text = this.text(value, where);
    if (text === '') this.fail(where, 'is required');
    return text;
  }

  /** A whole number within [min, max], `fallback` when absent. */
  int(value: unknown, where: string, min: number, max: number, fallback: number): number {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value)) this.fail(where, 'must be a whole number');
    if (value < min || value > max) this.fail(where, `${value} is out of range ${min}–${max}`);
    return value;
  }

  /** An MQTT QoS, 0 or 1; undefined when absent. */
  qos(value: unknown, where: string): 0 | 1 | undefined {
    if (value === undefined || value === null) return undefined;
    if (value !== 0 && value !== 1)
      this.fail(where, `${shownValue(value)} is not a QoS Skiff serves: use 0 or 1`);
    return value;
  }

  /** Environment variables: a mapping of names to scalar values. */
  env(value: unknown, where: string): Record<string, string> {
    const out: Record<string, string> = {};
    let total = 0;
    for (const [key, raw] of Object.entries(this.map(value, where))) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        this.fail(`${where}.${key}`, 'an environment variable name is letters, digits and _');
      }
      out[key] = this.text(raw, `${where}.${key}`);
      const bytes = Buffer.byteLength(key) + 1 + Buffer.byteLength(out[key]);
      if (bytes > MAX_ENV_ENTRY_BYTES) {
        this.fail(
          `${where}.${key}`,
          `${bytes} bytes; a process is given at most ${MAX_ENV_ENTRY_BYTES} per variable`,
        );
      }
      total += bytes;
      if (total > MAX_ENV_BYTES) {
        this.fail(where, `the variables add up to more than ${MAX_ENV_BYTES} bytes`);
      }
    }
    return out;
  }
}
